/**
 * Drains telemetry rows from the outbox to an InfluxDB-compatible `/api/v2/write` endpoint
 * (InfluxDB 2.x/3.x, VictoriaMetrics) with @influxdata/influxdb-client, deleting them once the
 * write succeeded. The client's own retry buffer is switched off: the outbox is the buffer, on
 * disk, under the disk budget (telemetry is the first to be evicted when it fills).
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import type { OutboxStore } from '../storage/outbox-store.js';

export interface TelemetryWriterOptions {
  readonly store: OutboxStore;
  readonly url: string;
  readonly token?: string;
  readonly org: string;
  readonly bucket: string;
  readonly logger: Logger;
  readonly counters: Counters;
  /** Rows (each one interval's lines) per HTTP write. Default 200. */
  readonly batchRows?: number;
  readonly timeoutMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

export class TelemetryWriter {
  private readonly influx: InfluxDB;
  private running = false;
  private stopped = false;
  private again = false;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private healthy: boolean | null = null;

  constructor(private readonly o: TelemetryWriterOptions) {
    this.influx = new InfluxDB({ url: o.url, token: o.token ?? '', timeout: o.timeoutMs ?? 10_000 });
  }

  /** Write what is queued (call after commits; safe to call often). */
  kick(): void {
    if (this.stopped || this.timer !== null) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.drain();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        this.again = false;
        const rows = this.o.store.after('influx', 0, this.o.batchRows ?? 200);
        if (rows.length === 0 || this.stopped) break;
        const writeApi = this.influx.getWriteApi(this.o.org, this.o.bucket, 'ms', {
          maxRetries: 0,
          batchSize: 1_000_000,
          flushInterval: 0,
          maxBufferLines: 1_000_000,
          // Handled here (kept in the outbox, logged once): keep the client from logging each failure.
          writeFailed: (error: Error) => Promise.reject(error),
        });
        writeApi.writeRecords(rows.flatMap((r) => r.payload.split('\n')));
        try {
          await writeApi.close();
        } catch (error) {
          this.failed(error);
          return;
        }
        this.o.store.delete(rows.map((r) => r.id));
        this.o.counters.increment('bridge.telemetry.written', rows.length);
        this.failures = 0;
        if (this.healthy !== true) this.o.logger.info('telemetry store reachable', { url: this.o.url });
        this.healthy = true;
      }
    } finally {
      this.running = false;
    }
    if (this.again) this.kick();
  }

  private failed(error: unknown): void {
    this.o.counters.increment('bridge.telemetry.write-failed');
    if (this.healthy !== false) {
      this.o.logger.warn('telemetry write failed: kept in the outbox, retrying', {
        url: this.o.url,
        error: String(error),
      });
    }
    this.healthy = false;
    const b = this.o.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    const delay = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(this.failures++, 20));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, delay);
  }
}
