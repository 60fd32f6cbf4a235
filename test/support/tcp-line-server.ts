/**
 * A TCP server that plays an RPM (SPEC §1.1: the RPM is the server, the gateway the client).
 * The test writes raw bytes or lines to whichever client is connected, can drop clients, stop
 * listening and listen again on the same port.
 */
import net from 'node:net';

export interface TcpLineServer {
  readonly port: number;
  /** Clients currently connected. */
  readonly clients: ReadonlySet<net.Socket>;
  /** Total connections accepted since creation. */
  readonly accepted: number;
  /** Write bytes to every connected client. */
  send(data: string | Buffer): void;
  /** Write lines, each terminated by CR LF. */
  sendLines(lines: readonly string[]): void;
  /** Destroy every client connection (the RPM drops the link). */
  dropClients(): void;
  /** Stop listening and drop clients; the port stays reserved for listen(). */
  close(): Promise<void>;
  /** Listen again on the same port. */
  listen(): Promise<void>;
}

export async function startTcpLineServer(port = 0): Promise<TcpLineServer> {
  const clients = new Set<net.Socket>();
  let accepted = 0;
  let server: net.Server | null = null;
  let boundPort = port;

  const listen = async (): Promise<void> => {
    const s = net.createServer((socket) => {
      accepted++;
      clients.add(socket);
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      socket.once('close', () => clients.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(boundPort, '127.0.0.1', () => resolve());
    });
    boundPort = (s.address() as net.AddressInfo).port;
    server = s;
  };

  await listen();

  const send = (data: string | Buffer) => {
    for (const client of clients) client.write(data);
  };
  return {
    get port() {
      return boundPort;
    },
    clients,
    get accepted() {
      return accepted;
    },
    send,
    sendLines(lines) {
      send(lines.map((line) => `${line}\r\n`).join(''));
    },
    dropClients() {
      for (const client of clients) client.destroy();
    },
    async close() {
      const s = server;
      server = null;
      for (const client of clients) client.destroy();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    listen,
  };
}

/** A port that was free a moment ago (for "the device is down at start" tests). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
