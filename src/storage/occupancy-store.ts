/**
 * Occupancy history for the console (SPEC §6): every completed occupancy's record, plus its count
 * profile, so an operator can list, filter and page past vehicles and open one to see why it
 * alarmed.
 *
 * Profiles are stored compactly: one row per occupancy, each radiation as BLOBs — sample counts as
 * Uint32 (row-major: sample × channel), sample times as Int32 milliseconds from the profile's
 * `t0`, per-sample flags as Uint8 (bit 0 device alarm, bit 1 pre-trigger) and the background per
 * channel as Float32. A 20 s truck on a 4-channel VM-250 lane is ~100 gamma samples: about 2 KB.
 *
 * The record is kept as JSON beside the few columns the list filters on, so a change of the
 * record's shape needs no migration. Rows older than `retainDays` are pruned as new ones arrive,
 * so the history is bounded on a lane-side disk.
 */
import { migrate, type Db } from './database.js';

/** The fields of a completed occupancy record (SPEC §5) the store indexes; the rest is kept as is. */
export interface StoredOccupancyRecord {
  readonly lane: string;
  readonly seq: number;
  readonly start: string;
  readonly end: string;
  readonly device: { readonly gammaAlarm: boolean; readonly neutronAlarm: boolean };
  readonly gamma: { readonly alarm: boolean };
  readonly neutron: { readonly alarm: boolean };
  readonly assessment: { readonly category: string; readonly disposition: string };
}

/** One radiation's samples of one occupancy. */
export interface ProfileSeries {
  readonly channels: number;
  /** Milliseconds from the profile's t0, one per sample. */
  readonly offsetsMs: readonly number[];
  /** counts[sample][channel]. */
  readonly counts: readonly (readonly number[])[];
  readonly deviceAlarm: readonly boolean[];
  readonly preTrigger: readonly boolean[];
  /** Background per channel in counts per second at the occupancy's start; null when none was known. */
  readonly backgroundCps: readonly number[] | null;
  /** Counting interval of one sample (200 ms gamma and 1000 ms neutron on VM-250 lanes). */
  readonly intervalMs: number;
}

export interface OccupancyProfile {
  /** Epoch milliseconds of the first sample. */
  readonly t0: number;
  /** The gamma N-sigma the lane decided with. */
  readonly nSigma: number;
  /** Canonical gamma channel names (masterUpper, …). */
  readonly gammaChannelNames: readonly string[];
  readonly gamma: ProfileSeries;
  readonly neutron: ProfileSeries;
}

export interface OccupancyQuery {
  readonly lane?: string;
  /** ISO times or epoch ms: occupancies that started at or after `from`, before `to`. */
  readonly from?: number;
  readonly to?: number;
  /** true: the gateway or the device alarmed; false: neither did. */
  readonly alarm?: boolean;
  readonly disposition?: string;
  readonly category?: string;
  readonly limit: number;
  readonly offset: number;
}

export interface OccupancyPage<T> {
  readonly total: number;
  readonly items: readonly T[];
}

const MIGRATIONS = [
  `CREATE TABLE occupancies (
    lane TEXT NOT NULL,
    seq INTEGER NOT NULL,
    start_ms REAL NOT NULL,
    end_ms REAL NOT NULL,
    gateway_alarm INTEGER NOT NULL,
    device_alarm INTEGER NOT NULL,
    category TEXT NOT NULL,
    disposition TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (lane, seq)
  );
  CREATE INDEX occupancies_start ON occupancies (start_ms);
  CREATE INDEX occupancies_lane_start ON occupancies (lane, start_ms);
  CREATE TABLE occupancy_profiles (
    lane TEXT NOT NULL,
    seq INTEGER NOT NULL,
    t0 REAL NOT NULL,
    n_sigma REAL NOT NULL,
    gamma_names TEXT NOT NULL,
    gamma_channels INTEGER NOT NULL,
    gamma_interval_ms REAL NOT NULL,
    gamma_offsets BLOB NOT NULL,
    gamma_counts BLOB NOT NULL,
    gamma_flags BLOB NOT NULL,
    gamma_background BLOB,
    neutron_channels INTEGER NOT NULL,
    neutron_interval_ms REAL NOT NULL,
    neutron_offsets BLOB NOT NULL,
    neutron_counts BLOB NOT NULL,
    neutron_flags BLOB NOT NULL,
    neutron_background BLOB,
    PRIMARY KEY (lane, seq),
    FOREIGN KEY (lane, seq) REFERENCES occupancies (lane, seq) ON DELETE CASCADE
  );`,
];

interface ProfileRow {
  t0: number;
  n_sigma: number;
  gamma_names: string;
  gamma_channels: number;
  gamma_interval_ms: number;
  gamma_offsets: Buffer;
  gamma_counts: Buffer;
  gamma_flags: Buffer;
  gamma_background: Buffer | null;
  neutron_channels: number;
  neutron_interval_ms: number;
  neutron_offsets: Buffer;
  neutron_counts: Buffer;
  neutron_flags: Buffer;
  neutron_background: Buffer | null;
}

export class OccupancyStore {
  private readonly insertRecord;
  private readonly insertProfile;
  private readonly pruneStatement;
  private inserts = 0;

  constructor(
    private readonly db: Db,
    private readonly options: { retainDays?: number; now?: () => number } = {},
  ) {
    migrate(db, 'occupancies', MIGRATIONS);
    this.insertRecord = db.prepare(
      `INSERT OR REPLACE INTO occupancies
       (lane, seq, start_ms, end_ms, gateway_alarm, device_alarm, category, disposition, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertProfile = db.prepare(
      `INSERT OR REPLACE INTO occupancy_profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.pruneStatement = db.prepare('DELETE FROM occupancies WHERE start_ms < ?');
  }

  /** Store a completed occupancy and (when collected) its profile, in one transaction. */
  add(record: StoredOccupancyRecord, profile: OccupancyProfile | null): void {
    const start = Date.parse(record.start);
    const end = Date.parse(record.end);
    this.db.transaction(() => {
      this.insertRecord.run(
        record.lane,
        record.seq,
        Number.isFinite(start) ? start : 0,
        Number.isFinite(end) ? end : 0,
        record.gamma.alarm || record.neutron.alarm ? 1 : 0,
        record.device.gammaAlarm || record.device.neutronAlarm ? 1 : 0,
        record.assessment.category,
        record.assessment.disposition,
        JSON.stringify(record),
      );
      if (profile !== null) {
        this.insertProfile.run(
          record.lane,
          record.seq,
          profile.t0,
          profile.nSigma,
          JSON.stringify(profile.gammaChannelNames),
          ...encodeSeries(profile.gamma),
          ...encodeSeries(profile.neutron),
        );
      }
    })();
    if (++this.inserts % 500 === 1) this.prune();
  }

  /** Drop occupancies older than the retention (default 90 days). */
  prune(): number {
    const days = this.options.retainDays ?? 90;
    const now = this.options.now?.() ?? Date.now();
    return this.pruneStatement.run(now - days * 86_400_000).changes;
  }

  list<T = unknown>(query: OccupancyQuery): OccupancyPage<T> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.lane !== undefined) {
      where.push('lane = ?');
      params.push(query.lane);
    }
    if (query.from !== undefined) {
      where.push('start_ms >= ?');
      params.push(query.from);
    }
    if (query.to !== undefined) {
      where.push('start_ms < ?');
      params.push(query.to);
    }
    if (query.alarm !== undefined) {
      where.push(
        query.alarm ? '(gateway_alarm = 1 OR device_alarm = 1)' : '(gateway_alarm = 0 AND device_alarm = 0)',
      );
    }
    if (query.disposition !== undefined) {
      where.push('disposition = ?');
      params.push(query.disposition);
    }
    if (query.category !== undefined) {
      where.push('category = ?');
      params.push(query.category);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (
      this.db.prepare(`SELECT COUNT(*) AS n FROM occupancies ${clause}`).get(...params) as { n: number }
    ).n;
    const rows = this.db
      .prepare(`SELECT record FROM occupancies ${clause} ORDER BY start_ms DESC, seq DESC LIMIT ? OFFSET ?`)
      .all(...params, query.limit, query.offset) as Array<{ record: string }>;
    return { total, items: rows.map((r) => JSON.parse(r.record) as T) };
  }

  get<T = unknown>(lane: string, seq: number): T | null {
    const row = this.db
      .prepare('SELECT record FROM occupancies WHERE lane = ? AND seq = ?')
      .get(lane, seq) as { record: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.record) as T);
  }

  profile(lane: string, seq: number): OccupancyProfile | null {
    const row = this.db
      .prepare('SELECT * FROM occupancy_profiles WHERE lane = ? AND seq = ?')
      .get(lane, seq) as ProfileRow | undefined;
    if (row === undefined) return null;
    return {
      t0: row.t0,
      nSigma: row.n_sigma,
      gammaChannelNames: JSON.parse(row.gamma_names) as string[],
      gamma: decodeSeries(
        row.gamma_channels,
        row.gamma_interval_ms,
        row.gamma_offsets,
        row.gamma_counts,
        row.gamma_flags,
        row.gamma_background,
      ),
      neutron: decodeSeries(
        row.neutron_channels,
        row.neutron_interval_ms,
        row.neutron_offsets,
        row.neutron_counts,
        row.neutron_flags,
        row.neutron_background,
      ),
    };
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM occupancies').get() as { n: number }).n;
  }
}

/** Counts are whole non-negative numbers from the devices; anything else is clamped into Uint32. */
function encodeSeries(s: ProfileSeries): [number, number, Buffer, Buffer, Buffer, Buffer | null] {
  const n = s.offsetsMs.length;
  const offsets = Int32Array.from(s.offsetsMs, (x) => Math.round(x));
  const counts = new Uint32Array(n * s.channels);
  const flags = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const row = s.counts[i] ?? [];
    for (let c = 0; c < s.channels; c++) {
      const v = row[c] ?? 0;
      counts[i * s.channels + c] = Number.isFinite(v) && v > 0 ? Math.min(Math.round(v), 0xffffffff) : 0;
    }
    flags[i] = (s.deviceAlarm[i] ? 1 : 0) | (s.preTrigger[i] ? 2 : 0);
  }
  const background = s.backgroundCps === null ? null : Buffer.from(Float32Array.from(s.backgroundCps).buffer);
  return [
    s.channels,
    s.intervalMs,
    Buffer.from(offsets.buffer),
    Buffer.from(counts.buffer),
    Buffer.from(flags.buffer),
    background,
  ];
}

function decodeSeries(
  channels: number,
  intervalMs: number,
  offsetsBlob: Buffer,
  countsBlob: Buffer,
  flagsBlob: Buffer,
  backgroundBlob: Buffer | null,
): ProfileSeries {
  // Copy into aligned buffers: SQLite hands back Buffers that may sit at any byte offset.
  const offsets = new Int32Array(new Uint8Array(offsetsBlob).buffer);
  const counts = new Uint32Array(new Uint8Array(countsBlob).buffer);
  const flags = new Uint8Array(flagsBlob);
  const rows: number[][] = [];
  for (let i = 0; i < offsets.length; i++)
    rows.push(Array.from(counts.subarray(i * channels, (i + 1) * channels)));
  return {
    channels,
    intervalMs,
    offsetsMs: Array.from(offsets),
    counts: rows,
    deviceAlarm: Array.from(flags, (f) => (f & 1) !== 0),
    preTrigger: Array.from(flags, (f) => (f & 2) !== 0),
    backgroundCps:
      backgroundBlob === null
        ? null
        : Array.from(
            new Float32Array(new Uint8Array(backgroundBlob).buffer),
            (x) => Math.round(x * 100) / 100,
          ),
  };
}
