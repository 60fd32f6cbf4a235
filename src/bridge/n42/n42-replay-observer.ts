/**
 * `rpm-gateway replay --n42 <dir>` (SPEC §5): one N42.42 document per replayed occupancy, built
 * from that occupancy's lane events (captured as they pass) and its record's verdict.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { LaneEvent } from '../../domain/lane-events.js';
import { OccupancyCapture, type CapturedOccupancy } from '../occupancy-capture.js';
import { N42FileWriter, type N42RecordVerdict } from './n42-writer.js';

export interface N42ReplayObserver {
  event(e: LaneEvent): void;
  occupancy(record: N42RecordVerdict): void;
  /** Documents written and failed so far. */
  readonly written: number;
  readonly failed: number;
}

export function createN42ReplayObserver(o: {
  dir: string;
  lane: string;
  site: string;
  version: string;
  logger: Logger;
  now?: () => number;
}): N42ReplayObserver {
  const capture = new OccupancyCapture(o.lane);
  const writer = new N42FileWriter(o.dir, o.site, o.version, o.logger, 'index');
  const now = o.now ?? Date.now;
  let finished: CapturedOccupancy | null = null;
  return {
    event(e) {
      const done = capture.handle(e);
      if (done) finished = done;
    },
    occupancy(record) {
      if (finished === null || finished.seq !== record.seq) return;
      writer.write(finished, record, undefined, randomUUID(), now());
      finished = null;
    },
    get written() {
      return writer.written;
    },
    get failed() {
      return writer.failed;
    },
  };
}
