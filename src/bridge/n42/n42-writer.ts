/**
 * Writes one N42.42 document per occupancy into a directory (`<lane>-<n>.n42`, SPEC §5), for
 * the live gateway's `n42.dir` and `replay --n42`. Written to a temporary name and renamed, so a
 * reader never sees half a document. A failed write is logged and counted, never fatal.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { CapturedOccupancy } from '../occupancy-capture.js';
import { n42Document } from './n42-document.js';

export interface N42RecordVerdict {
  readonly seq: number;
  readonly index?: unknown;
  readonly gamma: { readonly alarm: boolean; readonly maxSigma?: unknown };
  readonly neutron: { readonly alarm: boolean };
  readonly assessment?: unknown;
}

export class N42FileWriter {
  written = 0;
  failed = 0;

  constructor(
    private readonly dir: string,
    private readonly site: string,
    private readonly version: string,
    private readonly logger: Logger,
    /** File name number: the device index (replay, SPEC §5) or the gateway's seq (live, never repeats). */
    private readonly naming: 'index' | 'seq' = 'seq',
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private readonly used = new Set<string>();

  /**
   * Live: `<lane>-<seq>.n42` (the gateway's number never repeats). Replay: `<lane>-<index>.n42`
   * as SPEC §5 names it; the device index can repeat (restarts, simulators that send GX 0 every
   * time), so a repeat — or a missing index — gets the gateway's number too: `<lane>-<index>-<seq>.n42`.
   */
  private fileName(c: CapturedOccupancy): string {
    if (this.naming === 'seq') return `${c.lane}-${c.seq}.n42`;
    let name = `${c.lane}-${c.end.deviceIndex ?? 'none'}`;
    if (c.end.deviceIndex === null || this.used.has(name)) name += `-${c.seq}`;
    this.used.add(name);
    return `${name}.n42`;
  }

  write(
    c: CapturedOccupancy,
    record: N42RecordVerdict | null,
    gammaChannelNames: readonly string[] | undefined,
    uuid: string,
    nowMs: number,
  ): string | null {
    const a = record?.assessment as { category?: unknown; disposition?: unknown } | undefined;
    const xml = n42Document(c, {
      site: this.site,
      gatewayVersion: this.version,
      uuid,
      createdMs: nowMs,
      ...(gammaChannelNames === undefined ? {} : { gammaChannelNames }),
      ...(record === null
        ? {}
        : {
            gateway: {
              gammaAlarm: record.gamma.alarm,
              neutronAlarm: record.neutron.alarm,
              maxSigma: typeof record.gamma.maxSigma === 'number' ? record.gamma.maxSigma : null,
              ...(a && typeof a.category === 'string' && typeof a.disposition === 'string'
                ? { description: `Assessment: ${a.category}, ${a.disposition}.` }
                : {}),
            },
          }),
    });
    const file = join(this.dir, this.fileName(c));
    try {
      writeFileSync(`${file}.tmp`, xml);
      renameSync(`${file}.tmp`, file);
      this.written++;
      return file;
    } catch (error) {
      this.failed++;
      this.logger.error('N42 document could not be written', { file, error: String(error) });
      return null;
    }
  }
}
