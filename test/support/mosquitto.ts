/**
 * A real Mosquitto for a test suite: its own config file in a temp dir, a free loopback port,
 * stop and restart on the same port (to simulate a broker outage). Optional TLS with certificates
 * made here by `openssl` (a CA, a server certificate for 127.0.0.1, a client certificate), a
 * password file made by `mosquitto_passwd`, and an ACL file.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { sleep } from './wait-for.js';

export interface MosquittoOptions {
  /** Users for a password file (anonymous access is then refused). */
  readonly users?: Readonly<Record<string, string>>;
  /** Require TLS with client certificates signed by the test CA. */
  readonly tls?: boolean;
  /** ACL file text (mosquitto acl_file syntax). */
  readonly acl?: string;
  /** Keep sessions and queued messages across a restart (central's persistent subscribers). */
  readonly persistence?: boolean;
}

export interface TestCertificates {
  readonly ca: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate from a CA the broker does not trust. */
  readonly rogueCert: string;
  readonly rogueKey: string;
}

export class Mosquitto {
  readonly dir = mkdtempSync(join(tmpdir(), 'mosquitto-'));
  port = 0;
  certs: TestCertificates | null = null;
  private child: ChildProcess | null = null;
  log = '';

  constructor(private readonly options: MosquittoOptions = {}) {}

  get url(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) {
      this.port = await freePort();
      this.writeConfig();
    }
    const child = spawn('mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (b: Buffer) => (this.log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.log += b.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${this.port}: ${this.log}`);
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeConfig(): void {
    const lines = [
      `listener ${this.port} 127.0.0.1`,
      // Run as whoever runs the tests (as root, mosquitto would switch to `mosquitto` and could
      // not write its persistence file into our temp dir).
      `user ${userInfo().username}`,
      this.options.persistence ? `persistence true\npersistence_location ${this.dir}/` : 'persistence false',
      'max_queued_messages 100000',
      // As docs/events.md recommends for a lane broker: small alarm packets leave at once.
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
    ];
    const users = this.options.users;
    if (users) {
      const file = join(this.dir, 'passwd');
      writeFileSync(file, '');
      for (const [user, password] of Object.entries(users)) {
        execFileSync('mosquitto_passwd', ['-b', file, user, password], { stdio: 'pipe' });
      }
      lines.push(`password_file ${file}`, 'allow_anonymous false');
    } else {
      lines.push('allow_anonymous true');
    }
    if (this.options.acl !== undefined) {
      const file = join(this.dir, 'acl');
      writeFileSync(file, this.options.acl);
      lines.push(`acl_file ${file}`);
    }
    if (this.options.tls) {
      this.certs = makeCertificates(this.dir);
      lines.push(
        `cafile ${join(this.dir, 'ca.pem')}`,
        `certfile ${join(this.dir, 'server.pem')}`,
        `keyfile ${join(this.dir, 'server.key')}`,
        'require_certificate true',
        'tls_version tlsv1.2',
      );
    }
    writeFileSync(join(this.dir, 'mosquitto.conf'), lines.join('\n') + '\n');
  }
}

function makeCertificates(dir: string): TestCertificates {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) => {
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    );
  };
  const leaf = (name: string, signer: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${signer}.pem`,
      '-CAkey',
      `${signer}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    );
  };
  ca('ca');
  ca('rogue-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: join(dir, 'ca.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    rogueCert: join(dir, 'rogue.pem'),
    rogueKey: join(dir, 'rogue.key'),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
