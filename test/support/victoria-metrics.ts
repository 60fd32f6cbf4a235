/**
 * VictoriaMetrics from Debian as the InfluxDB-compatible telemetry store of the tests: a free
 * loopback port, a temporary storage dir; read back through /api/v1/export.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './mosquitto.js';
import { sleep } from './wait-for.js';

export interface ExportedSeries {
  readonly metric: Record<string, string>;
  readonly values: number[];
  readonly timestamps: number[];
}

export class VictoriaMetrics {
  readonly dir = mkdtempSync(join(tmpdir(), 'vm-'));
  port = 0;
  private child: ChildProcess | null = null;
  log = '';

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn(
      '/usr/bin/victoria-metrics',
      [
        `-httpListenAddr=127.0.0.1:${this.port}`,
        `-storageDataPath=${join(this.dir, 'data')}`,
        '-retentionPeriod=100y',
        '-search.latencyOffset=0s',
        '-loggerLevel=ERROR',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout?.on('data', (b: Buffer) => (this.log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.log += b.toString()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`victoria-metrics exited: ${this.log}`);
      try {
        const r = await fetch(`${this.url}/health`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`victoria-metrics did not start: ${this.log}`);
      await sleep(50);
    }
  }

  /** Every series matching `selector`, after making recent writes searchable. */
  async export(selector: string): Promise<ExportedSeries[]> {
    await fetch(`${this.url}/internal/force_flush`);
    const r = await fetch(`${this.url}/api/v1/export?match[]=${encodeURIComponent(selector)}`);
    const text = await r.text();
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as ExportedSeries);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
