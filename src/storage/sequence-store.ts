/**
 * Durable per-lane occupancy numbering. SPEC §1.1: the device's GX index repeats (restarts,
 * simulators), so the gateway numbers occupancies itself with a sequence that never repeats —
 * also across gateway restarts. The next number is reserved on disk (write to a temporary file,
 * fsync, rename) before it is handed out, so a crash can skip a number but never reuse one.
 */
import { mkdirSync, openSync, readFileSync, renameSync, writeSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayError } from '../core/errors.js';

export class SequenceStore {
  private readonly file: string;
  private readonly next: Record<string, number>;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'lane-sequences.json');
    this.next = SequenceStore.read(this.file);
  }

  /** The first sequence number a lane's tracker should hand out in this run. */
  firstSeq(lane: string): number {
    return this.next[lane] ?? 1;
  }

  /** Record that `seq` was used: the next run starts after it. Synchronous and durable. */
  used(lane: string, seq: number): void {
    if ((this.next[lane] ?? 1) > seq) return;
    this.next[lane] = seq + 1;
    const temporary = `${this.file}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      writeSync(fd, JSON.stringify(this.next));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.file);
  }

  private static read(file: string): Record<string, number> {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return {};
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      // Starting again at 1 could repeat numbers central command has already seen: refuse instead.
      throw new GatewayError(
        'STATE_CORRUPT',
        `${file} is not valid JSON; fix or remove it (removing restarts occupancy numbering at 1)`,
        { file },
        { cause },
      );
    }
    const result: Record<string, number> = {};
    if (parsed && typeof parsed === 'object') {
      for (const [lane, value] of Object.entries(parsed)) {
        if (Number.isSafeInteger(value) && (value as number) > 0) result[lane] = value as number;
      }
    }
    return result;
  }
}
