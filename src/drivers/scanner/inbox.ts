/**
 * The watched inbox (SPEC §1.3): the scanner workstation drops a scan's files into a folder;
 * each format adapter recognises the file that announces a scan (a sidecar, a DICOS file). A
 * scan is taken only when all its files have stopped changing for `settleMs` (a file still being
 * written is left alone), then read (headers checked; a 16-bit PNG goes on decoding as a stream
 * while `onScan` analyzes it), handed to `onScan`, and moved to `processed/`. Anything
 * unusable — corrupt or truncated images, wrong bit depth, decompression bombs, a malformed
 * sidecar, images with no sidecar, a sidecar naming files that never arrive — is moved to
 * `rejected/` with a `<file>.rejected.json` record (code, message, time), counted and logged;
 * the inbox keeps flowing. Hidden files and `*.tmp` (atomic-write temporaries) are ignored.
 * Polling (not fs.watch alone) so network shares and editors' rename tricks behave the same.
 */
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Counters } from '../../core/counters.js';
import { GatewayError, describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { DEFAULT_LIMITS, type DecodeLimits } from '../../imaging/decode.js';
import { DEFAULT_ADAPTERS, IMAGE_EXTENSIONS, type ReadScan, type ScanFormatAdapter } from './adapter.js';

export interface Rejection {
  readonly files: readonly string[];
  readonly code: string;
  readonly message: string;
  readonly time: string;
}

export interface InboxOptions {
  readonly dir: string;
  readonly adapters?: readonly ScanFormatAdapter[];
  readonly limits?: DecodeLimits;
  /** Poll interval. Default 500 ms. */
  readonly pollMs?: number;
  /** Files must be unchanged this long before they are read. Default 1000 ms. */
  readonly settleMs?: number;
  /** A sidecar's images, or an image's sidecar, must arrive within this. Default 60 s. */
  readonly incompleteAfterMs?: number;
  readonly logger: Logger;
  readonly counters: Counters;
  readonly onScan: (scan: ReadScan) => Promise<void> | void;
  readonly onRejected?: (rejection: Rejection) => void;
  /** Injected for tests. Default Date.now. */
  readonly now?: () => number;
}

interface Seen {
  size: number;
  mtimeMs: number;
  /** When the file was first seen with this size and mtime. */
  since: number;
  firstSeen: number;
}

export class ScanInbox {
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private busy: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly o: InboxOptions) {
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await mkdir(join(this.o.dir, 'processed'), { recursive: true });
    await mkdir(join(this.o.dir, 'rejected'), { recursive: true });
    this.running = true;
    this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.busy;
  }

  private loop(): void {
    if (!this.running) return;
    this.busy = this.poll().catch((error: unknown) =>
      this.o.logger.error('inbox poll failed', { error: describeError(error) }),
    );
    void this.busy.then(() => {
      if (this.running) this.timer = setTimeout(() => this.loop(), this.o.pollMs ?? 500);
    });
  }

  /** One pass over the folder. Public so tests can step it. */
  async poll(): Promise<void> {
    const dir = this.o.dir;
    const adapters = this.o.adapters ?? DEFAULT_ADAPTERS;
    const settle = this.o.settleMs ?? 1000;
    const incomplete = this.o.incompleteAfterMs ?? 60_000;
    let names: string[];
    // Entries that are not regular files (directories, links, pipes) are never read as scans.
    let irregular: Set<string>;
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      names = entries.filter((d) => d.isFile()).map((d) => d.name);
      irregular = new Set(entries.filter((d) => !d.isFile()).map((d) => d.name));
    } catch (error) {
      this.o.logger.warn('inbox unreadable', { dir, error: describeError(error) });
      return;
    }
    names = names.filter((n) => !n.startsWith('.') && !n.endsWith('.tmp') && !n.endsWith('.truth.json'));
    const now = this.now();
    const stable = new Set<string>();
    for (const name of names) {
      let st;
      try {
        st = await stat(join(dir, name));
      } catch {
        continue;
      }
      const prev = this.seen.get(name);
      if (!prev) this.seen.set(name, { size: st.size, mtimeMs: st.mtimeMs, since: now, firstSeen: now });
      else if (prev.size !== st.size || prev.mtimeMs !== st.mtimeMs)
        Object.assign(prev, { size: st.size, mtimeMs: st.mtimeMs, since: now });
      if (now - this.seen.get(name)!.since >= settle) stable.add(name);
    }
    for (const gone of [...this.seen.keys()].filter((n) => !names.includes(n))) this.seen.delete(gone);

    const claimed = new Set<string>();
    for (const trigger of names) {
      const adapter = adapters.find((a) => a.claims(trigger));
      if (!adapter) continue;
      claimed.add(trigger);
      if (!stable.has(trigger)) continue;
      let companions: readonly string[];
      try {
        companions = await adapter.companions(dir, trigger);
      } catch (error) {
        await this.reject([trigger], error);
        continue;
      }
      for (const c of companions) claimed.add(c);
      const missing = companions.filter((c) => !names.includes(c));
      const unreadable = missing.filter((c) => irregular.has(c));
      if (unreadable.length > 0) {
        await this.reject(
          [trigger, ...companions.filter((c) => names.includes(c))],
          new GatewayError(
            'SIDECAR_INVALID',
            `${trigger}: names ${unreadable.join(', ')}, which is not a regular file (a directory, link or pipe)`,
            { unreadable },
          ),
        );
        continue;
      }
      if (missing.length > 0) {
        if (now - this.seen.get(trigger)!.firstSeen >= incomplete) {
          await this.reject(
            [trigger, ...companions.filter((c) => names.includes(c))],
            new GatewayError(
              'SIDECAR_INVALID',
              `${trigger}: names ${missing.join(', ')}, not in the inbox after ${incomplete} ms`,
              { missing },
            ),
          );
        }
        continue;
      }
      if (!companions.every((c) => stable.has(c))) {
        this.o.counters.increment('scanner.inbox.waiting');
        continue; // SCAN_INCOMPLETE: still being written; look again next poll
      }
      await this.take(adapter, trigger, companions);
    }
    for (const name of names) {
      if (claimed.has(name) || !IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e))) continue;
      if (now - this.seen.get(name)!.firstSeen >= incomplete) {
        await this.reject(
          [name],
          new GatewayError('SIDECAR_INVALID', `${name}: image without a sidecar after ${incomplete} ms`, {
            name,
          }),
        );
      }
    }
  }

  private async take(
    adapter: ScanFormatAdapter,
    trigger: string,
    companions: readonly string[],
  ): Promise<void> {
    let read: ReadScan;
    try {
      read = await adapter.read(this.o.dir, trigger, this.o.limits ?? DEFAULT_LIMITS);
    } catch (error) {
      await this.reject([trigger, ...companions], error);
      return;
    }
    let failure: { error: unknown } | null = null;
    try {
      await this.o.onScan(read);
    } catch (error) {
      failure = { error };
    }
    // An image found corrupt part-way through a streamed decode is rejected as one found at once.
    const corrupt = await read.scan.decoding?.done.then(
      () => null,
      (e: unknown) => e,
    );
    if (corrupt !== undefined && corrupt !== null) {
      await this.reject([trigger, ...companions], corrupt);
      return;
    }
    this.o.counters.increment('scanner.inbox.scans');
    if (failure !== null) {
      const { error } = failure;
      if (error instanceof GatewayError && error.code === 'SCAN_DUPLICATE') {
        await this.reject(read.files, error); // refused as a scan, not a failure of the gateway
        return;
      }
      this.o.counters.increment('scanner.inbox.handler-errors');
      this.o.logger.error('scan handler failed', {
        scanId: read.scan.meta.scanId,
        error: describeError(error),
      });
    }
    await this.move(read.files, 'processed');
  }

  private async reject(files: readonly string[], error: unknown): Promise<void> {
    const code = error instanceof GatewayError ? error.code : 'INPUT_UNREADABLE';
    const message = error instanceof Error ? error.message : String(error);
    const record: Rejection = { files, code, message, time: new Date(this.now()).toISOString() };
    this.o.counters.increment(`scanner.inbox.rejected.${code}`);
    this.o.logger.warn('scan rejected', { files, code, message });
    await this.move(files, 'rejected');
    // Written aside and renamed: whoever watches rejected/ never reads half a record.
    const recordPath = join(this.o.dir, 'rejected', `${files[0] ?? 'scan'}.rejected.json`);
    await writeFile(`${recordPath}.tmp`, JSON.stringify(record, null, 2))
      .then(() => rename(`${recordPath}.tmp`, recordPath))
      .catch(() => undefined);
    this.o.onRejected?.(record);
  }

  private async move(files: readonly string[], to: 'processed' | 'rejected'): Promise<void> {
    for (const f of files) {
      this.seen.delete(f);
      await rename(join(this.o.dir, f), join(this.o.dir, to, f)).catch(() => undefined);
    }
  }
}
