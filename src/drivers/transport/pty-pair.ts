/**
 * A pseudo-terminal pair made by socat (SPEC §2): what one side writes, the other reads, as if
 * a null-modem cable joined two serial ports. Simulators open one end, the gateway the other,
 * both through `serialport`, so the serial path is exercised for real without hardware.
 *
 * `linkA`/`linkB` give the ends stable names (socat's `link=` symlinks); a pair recreated
 * with the same links looks to the gateway like a serial adapter that came back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { GatewayError } from '../../core/errors.js';

export interface PtyPairOptions {
  /** Symlink to create for end A (replaced if it exists; removed when socat exits cleanly). */
  readonly linkA?: string;
  readonly linkB?: string;
  /** How long to wait for socat to report both ends. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** The socat executable. Default `socat` from PATH. */
  readonly socatPath?: string;
}

export interface PtyPair {
  /** The path to open for end A: `linkA` when given, else the /dev/pts device. */
  readonly a: string;
  readonly b: string;
  /** The /dev/pts devices behind the ends. */
  readonly devices: readonly [string, string];
  readonly pid: number | undefined;
  /** Kill socat and wait for it to exit. Safe to call twice. */
  close(): Promise<void>;
}

const INSTALL_HINT = 'install socat (Debian/Ubuntu: sudo apt-get install socat; macOS: brew install socat)';

/** socat processes still running, killed when this process exits so no pty pair outlives it. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGTERM');
  });
}

export function createPtyPair(options: PtyPairOptions = {}): Promise<PtyPair> {
  const socat = options.socatPath ?? 'socat';
  const timeoutMs = options.timeoutMs ?? 5000;
  const end = (link: string | undefined) => `pty,raw,echo=0${link === undefined ? '' : `,link=${link}`}`;
  const args = ['-d', '-d', end(options.linkA), end(options.linkB)];
  if ([options.linkA, options.linkB].some((l) => l !== undefined && /[,!:\s]/.test(l))) {
    return Promise.reject(
      new GatewayError('PTY_UNAVAILABLE', 'pty link paths must not contain commas, colons, "!" or spaces', {
        linkA: options.linkA,
        linkB: options.linkB,
      }),
    );
  }

  return new Promise<PtyPair>((resolve, reject) => {
    installExitHook();
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and socat
    // dying at once would pull the pty from under a serial lane that is still being stopped (a
    // clean stop logged as a lost link). Whoever made the pair closes it; the exit hook too.
    const child = spawn(socat, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    live.add(child);
    const devices: string[] = [];
    let stderrTail = '';
    let pending = '';
    let settled = false;

    const exited = new Promise<void>((done) => {
      child.once('exit', () => {
        live.delete(child);
        done();
      });
    });

    const fail = (message: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new GatewayError(
          'PTY_UNAVAILABLE',
          message,
          { command: [socat, ...args].join(' '), stderr: stderrTail },
          {
            cause,
          },
        ),
      );
    };

    const timer = setTimeout(
      () => fail(`socat did not report a pty pair within ${timeoutMs} ms; stderr: ${stderrTail.trim()}`),
      timeoutMs,
    );

    let closing: Promise<void> | null = null;
    const pair = (): PtyPair => ({
      a: options.linkA ?? devices[0]!,
      b: options.linkB ?? devices[1]!,
      devices: [devices[0]!, devices[1]!],
      pid: child.pid,
      close() {
        if (closing === null) {
          closing = (async () => {
            if (child.exitCode === null && child.signalCode === null) {
              // SIGTERM lets socat remove its link= symlinks; SIGKILL only if it hangs.
              child.kill('SIGTERM');
              const force = setTimeout(() => child.kill('SIGKILL'), 2000);
              await exited;
              clearTimeout(force);
            }
          })();
        }
        return closing;
      },
    });

    // Keep draining stderr for socat's whole life: a full pipe would block it mid-transfer.
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderrTail = (stderrTail + text).slice(-2000);
      if (settled) return;
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const pty = /\bPTY is (\S+)/.exec(line);
        if (pty) devices.push(pty[1]!);
        // Both ends (and their links) exist once socat enters its transfer loop.
        if (/starting data transfer loop/.test(line) && devices.length >= 2) {
          settled = true;
          clearTimeout(timer);
          resolve(pair());
          return;
        }
      }
    });

    child.once('error', (error: NodeJS.ErrnoException) => {
      live.delete(child);
      fail(
        error.code === 'ENOENT'
          ? `socat was not found on PATH; ${INSTALL_HINT}`
          : `socat could not be started: ${error.message}`,
        error,
      );
    });
    child.once('exit', (code, signal) => {
      fail(
        `socat exited (${signal ?? `code ${code}`}) before the pty pair was ready; stderr: ${stderrTail.trim()}`,
      );
    });
  });
}
