/**
 * The whole gateway's memory (issue 6: "peak memory with the model loaded ≤ 250 MB RSS for the
 * whole gateway"; SPEC §7: "RSS with 16 lanes and the imaging model loaded"): `rpm-gateway run` as
 * its own process, as a site runs it — sixteen VM-250 lanes over TCP with vehicles passing, lane
 * 1's cargo scanner inbox with the imaging model loaded, the MQTT bridge with its outbox, and the
 * console's HTTP server — while 2048 × 1024 16-bit scans are dropped into the inbox and analyzed
 * one after another. (Until 2026-11-23 it ran four lanes; sixteen read about 15 MB more.)
 *
 * The figure is the child's VmHWM (the kernel's peak resident set) after the last scan. The
 * devices, the broker and the scan files are made in this process, so none of them is counted.
 *
 * `environment: 'deployed'` runs the child with the environment the Dockerfile sets
 * (`DEPLOYED_ENV`): glibc's malloc limited to two arenas (the decode, inference and database
 * threads each keep an arena of freed memory otherwise); V8's semi-spaces limited to 4 MB (the
 * main thread's young generation otherwise grows to 32 MB under a scan's allocations); and its
 * old generation capped at 2000 MB, which also caps how far V8 grows it after a full collection
 * at ≈ 2-fold instead of the 4-fold it allows when the cap is 2 GB or more, as it is by default
 * on a machine with 8 GB or more (4 GB here). `'default'` runs it with none of them (glibc's up
 * to 8 arenas per core, V8's 16 MB semi-spaces and 4-fold growth), as a bare
 * `npx rpm-gateway run` gets. Both are reported.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startEmbeddedBroker } from '../src/bridge/embedded-broker.js';
import { dropScan } from '../simulators/scanner/inbox-writer.js';
import { makePhantom } from '../simulators/scanner/phantom.js';
import { Vm250TcpServer } from '../simulators/vm250/tcp-server.js';

export interface GatewayBenchOptions {
  /** VM-250 lanes. Default 16 (SPEC §7). */
  readonly lanes?: number;
  /**
   * Scans analyzed, one after another (0: no scanner configured). Default 40: the peak kept
   * rising well past six scans (as deployed until 2026-11-23's evening: six scans read
   * 231–253 MB, forty 249–262 and a hundred and twenty 271), and a lane sees forty trucks in
   * well under a day.
   */
  readonly scans?: number;
  readonly width?: number;
  readonly height?: number;
  /** The child's environment: as the Dockerfile deploys it, or glibc's and V8's defaults. Default deployed. */
  readonly environment?: 'deployed' | 'default';
}

/** What the Dockerfile's runtime stage sets (keep the two in step). */
export const DEPLOYED_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  NODE_OPTIONS: '--max-semi-space-size=4 --max-old-space-size=2000',
};

export interface GatewayBenchResult {
  readonly lanes: number;
  readonly scansAnalyzed: number;
  readonly occupancies: number;
  /** Peak RSS of the gateway process (VmHWM), MB. */
  readonly peakRssMb: number;
  /** RSS of the gateway process at the end, MB. */
  readonly endRssMb: number;
}

const SCAN_TIMEOUT_MS = 60_000;

export async function benchGatewayMemory(options: GatewayBenchOptions = {}): Promise<GatewayBenchResult> {
  const laneCount = options.lanes ?? 16;
  const scans = options.scans ?? 40;
  const width = options.width ?? 2048;
  const height = options.height ?? 1024;
  const dir = await mkdtemp(join(tmpdir(), 'rpm-gateway-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    const devices: Vm250TcpServer[] = [];
    for (let k = 0; k < laneCount; k++) {
      const device = new Vm250TcpServer({ seed: `gateway-bench-${k}`, occupancies: 10_000, speed: 5 });
      await device.start();
      devices.push(device);
      cleanups.unshift(() => device.stop());
    }
    const broker = await startEmbeddedBroker();
    cleanups.unshift(() => broker.close());
    const inbox = join(dir, 'inbox');
    await mkdir(inbox, { recursive: true });
    // JSON is YAML: the configuration a site would write, with the lanes found above.
    const config = {
      site: 'bench',
      gatewayId: 'bench',
      mqtt: { url: broker.url, protocol: '3.1.1' },
      storage: { dir: join(dir, 'state') },
      log: { level: 'warn' },
      http: {
        host: '127.0.0.1',
        port: 0,
        admin: { username: 'admin', password: randomBytes(12).toString('hex') },
      },
      lanes: devices.map((d, k) => ({
        id: `lane-${k + 1}`,
        driver: 'vm250',
        address: `tcp://127.0.0.1:${d.port}`,
        ...(k === 0 && scans > 0 ? { scanner: { inbox } } : {}),
      })),
    };
    const configPath = join(dir, 'gateway.yaml');
    await writeFile(configPath, JSON.stringify(config, null, 2));

    const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
    const env = { ...process.env };
    for (const name of Object.keys(DEPLOYED_ENV)) delete env[name];
    const child = spawn(process.execPath, [cli, 'run', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: (options.environment ?? 'deployed') === 'deployed' ? { ...env, ...DEPLOYED_ENV } : env,
    });
    cleanups.unshift(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );
    let occupancies = 0;
    const analyzed = new Set<string>();
    let waiter: (() => void) | null = null;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const record = JSON.parse(line) as { type: string; scanId?: string; data?: { scanId?: string } };
      if (record.type === 'occupancy') occupancies++;
      if (record.type === 'imaging.scan.analyzed') {
        analyzed.add(record.scanId ?? record.data?.scanId ?? `#${analyzed.size}`);
        waiter?.();
      }
    });

    // Let the lanes connect and the first vehicles pass before the first scan.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (let s = 0; s < scans; s++) {
      const phantom = makePhantom({ seed: `gateway-bench-scan-${s}`, width, height, anomalies: 2 });
      const before = analyzed.size;
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`scan ${s} not analyzed within ${SCAN_TIMEOUT_MS} ms`)),
          SCAN_TIMEOUT_MS,
        );
        waiter = () => {
          if (analyzed.size > before) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      await dropScan(inbox, phantom, { scanId: `bench-${s}`, lane: 'lane-1', truth: false });
      await done;
    }
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return {
      lanes: laneCount,
      scansAnalyzed: analyzed.size,
      occupancies,
      peakRssMb: kb('VmHWM') / 1024,
      endRssMb: kb('VmRSS') / 1024,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
