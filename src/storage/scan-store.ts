/**
 * Analyzed cargo scans (SPEC §1.3, §3 item 6, §6): one row per scan with the
 * `imaging.scan.analyzed` data and its fusion verdict kept as JSON, the few columns the console
 * filters on, the occupancy it was linked to (lane + seq, null until linked) and where its overlay
 * and 8-bit preview pictures are on disk. Pictures stay files (a 1024 px overlay is ~0.5 MB): the
 * database keeps paths, not blobs.
 */
import { GatewayError } from '../core/errors.js';
import { migrate, type Db } from './database.js';

/** Priority of a case after fusion (src/imaging/fusion.ts). */
export type ScanPriority = 'normal' | 'elevated' | 'high' | 'critical';

export interface StoredScan {
  readonly scanId: string;
  readonly lane: string;
  /** ISO time the scan started (the sidecar's, else when it was received). */
  readonly time: string;
  readonly receivedAt: string;
  readonly occupancySeq: number | null;
  readonly priority: ScanPriority;
  readonly raised: boolean;
  readonly reasons: readonly string[];
  readonly regions: number;
  readonly shieldingSuspects: number;
  readonly maxScore: number;
  /** The `imaging.scan.analyzed` data (src/imaging/types.ts ScanAnalyzedData). */
  readonly analysis: Record<string, unknown>;
  readonly overlayPath: string | null;
  readonly previewPath: string | null;
}

export interface ScanQuery {
  readonly lane?: string;
  /** Epoch ms: scans that started at or after `from`, before `to`. */
  readonly from?: number;
  readonly to?: number;
  readonly occupancySeq?: number;
  /** Only scans at or above this priority. */
  readonly minPriority?: ScanPriority;
  readonly limit: number;
  readonly offset: number;
}

const RANK: Record<ScanPriority, number> = { normal: 0, elevated: 1, high: 2, critical: 3 };

const MIGRATIONS = [
  `CREATE TABLE scans (
    scan_id TEXT PRIMARY KEY,
    lane TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    occupancy_seq INTEGER,
    priority_rank INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX scans_lane_time ON scans (lane, time_ms);
  CREATE INDEX scans_occupancy ON scans (lane, occupancy_seq);`,
];

interface Row {
  readonly record: string;
}

export class ScanStore {
  constructor(private readonly db: Db) {
    migrate(db, 'scans', MIGRATIONS);
  }

  /** Insert or replace (a scan sent again under the same id replaces the first). */
  put(scan: StoredScan): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO scans (scan_id, lane, time_ms, occupancy_seq, priority_rank, record)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(
        scan.scanId,
        scan.lane,
        Date.parse(scan.time),
        scan.occupancySeq,
        RANK[scan.priority],
        JSON.stringify(scan),
      );
  }

  get(scanId: string): StoredScan | null {
    const row = this.db.prepare('SELECT record FROM scans WHERE scan_id = ?').get(scanId) as Row | undefined;
    return row === undefined ? null : (JSON.parse(row.record) as StoredScan);
  }

  /** The scans linked to one occupancy, newest first. */
  byOccupancy(lane: string, seq: number): StoredScan[] {
    const rows = this.db
      .prepare('SELECT record FROM scans WHERE lane = ? AND occupancy_seq = ? ORDER BY time_ms DESC')
      .all(lane, seq) as Row[];
    return rows.map((r) => JSON.parse(r.record) as StoredScan);
  }

  list(q: ScanQuery): { total: number; items: StoredScan[] } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (sql: string, value: string | number): void => {
      where.push(sql);
      args.push(value);
    };
    if (q.lane !== undefined) add('lane = ?', q.lane);
    if (q.from !== undefined) add('time_ms >= ?', q.from);
    if (q.to !== undefined) add('time_ms < ?', q.to);
    if (q.occupancySeq !== undefined) add('occupancy_seq = ?', q.occupancySeq);
    if (q.minPriority !== undefined) add('priority_rank >= ?', RANK[q.minPriority]);
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM scans ${clause}`).get(...args) as { n: number })
      .n;
    const rows = this.db
      .prepare(`SELECT record FROM scans ${clause} ORDER BY time_ms DESC, scan_id LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as Row[];
    return { total, items: rows.map((r) => JSON.parse(r.record) as StoredScan) };
  }
}

/** The refusal of a scan whose id was already received: the store keeps one record per id. */
export function duplicateScanError(scanId: string): GatewayError {
  return new GatewayError('SCAN_DUPLICATE', `scan ${scanId} was already received: scan ids must be unique`);
}
