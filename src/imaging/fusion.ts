/**
 * Scan fusion (SPEC §3 item 6), pure: link a scan to the lane's occupancy (same lane, scan time
 * inside the occupancy's window), then set the case's priority. Rules:
 *
 * | radiation alarm | imaging finding                               | priority |
 * |-----------------|-----------------------------------------------|----------|
 * | yes             | shielding suspect                             | critical |
 * | yes             | anomaly region                                | high     |
 * | yes             | none                                          | elevated |
 * | no              | shielding suspect in otherwise transparent cargo | high  |
 * | no              | shielding suspect in largely opaque cargo     | elevated |
 * | no              | anomaly region                                | elevated |
 * | no              | none                                          | normal   |
 *
 * "Transparent cargo": the opaque suspects cover less than `opaqueCargoFraction` of the image —
 * dense cargo (steel coils) is expected to be opaque and is not by itself a reason to escalate.
 * The base priority without the scan is `elevated` for an alarm, `normal` otherwise; `raised`
 * says whether the scan raised it.
 */
import type { ScanAnalyzedData } from './types.js';

export type Priority = 'normal' | 'elevated' | 'high' | 'critical';
const RANK: Record<Priority, number> = { normal: 0, elevated: 1, high: 2, critical: 3 };

/** What fusion needs of an occupancy (from the alarm pipeline's record). */
export interface OccupancyWindow {
  readonly lane: string;
  readonly seq: number;
  /** Epoch ms. */
  readonly start: number;
  readonly end: number;
  readonly gammaAlarm: boolean;
  readonly neutronAlarm: boolean;
}

export interface FusionOptions {
  /** How far before the occupancy's start and after its end a scan may begin. Default 30 s / 120 s. */
  readonly beforeMs?: number;
  readonly afterMs?: number;
  /** Default 0.1. */
  readonly opaqueCargoFraction?: number;
}

export interface FusionResult {
  readonly scanId: string;
  readonly lane: string | null;
  readonly occupancySeq: number | null;
  readonly priority: Priority;
  readonly raised: boolean;
  readonly reasons: readonly string[];
}

/**
 * The occupancy a scan belongs to: same lane, scan start in [start − before, end + after], nearest
 * start. `openStart` is the start (epoch ms) of the lane's occupancy still in progress, if any: it
 * competes too, with no end yet, and when it is the nearest the answer is null — the scan waits
 * for that occupancy's record rather than joining the vehicle before it (at a busy lane the
 * previous vehicle's window, 120 s after its end by default, still covers the next one's scan).
 */
export function linkScan(
  scan: Pick<ScanAnalyzedData, 'lane' | 'time'>,
  occupancies: readonly OccupancyWindow[],
  options: FusionOptions = {},
  openStart: number | null = null,
): OccupancyWindow | null {
  if (scan.lane === null || scan.time === null) return null;
  const t = Date.parse(scan.time);
  const before = options.beforeMs ?? 30_000;
  const after = options.afterMs ?? 120_000;
  let best: OccupancyWindow | null = null;
  for (const o of occupancies) {
    if (o.lane !== scan.lane || t < o.start - before || t > o.end + after) continue;
    if (best === null || Math.abs(t - o.start) < Math.abs(t - best.start)) best = o;
  }
  if (openStart !== null && t >= openStart - before) {
    if (best === null || Math.abs(t - openStart) < Math.abs(t - best.start)) return null;
  }
  return best;
}

export function fuse(
  scan: ScanAnalyzedData,
  occupancy: OccupancyWindow | null,
  options: FusionOptions = {},
): FusionResult {
  const alarm = occupancy !== null && (occupancy.gammaAlarm || occupancy.neutronAlarm);
  const base: Priority = alarm ? 'elevated' : 'normal';
  const imageArea = Math.max(1, scan.image.width * scan.image.height);
  const opaqueArea = scan.shieldingSuspects.reduce((sum, s) => sum + s.areaPx, 0);
  const transparent = opaqueArea / imageArea < (options.opaqueCargoFraction ?? 0.1);
  const shielding = scan.shieldingSuspects.length > 0;
  const anomaly = scan.regions.length > 0;
  const reasons: string[] = [];
  let priority: Priority = base;
  const raise = (p: Priority, reason: string): void => {
    if (RANK[p] > RANK[priority]) priority = p;
    reasons.push(reason);
  };
  if (alarm)
    reasons.push(
      `radiation alarm (${[occupancy.gammaAlarm && 'gamma', occupancy.neutronAlarm && 'neutron'].filter(Boolean).join(' + ')})`,
    );
  if (alarm && shielding)
    raise(
      'critical',
      `radiation alarm with ${scan.shieldingSuspects.length} region(s) the X-ray could not penetrate: a source may be shielded`,
    );
  else if (alarm && anomaly)
    raise('high', `radiation alarm with ${scan.regions.length} X-ray anomaly region(s)`);
  else if (shielding && transparent)
    raise(
      'high',
      `no radiation alarm, but ${scan.shieldingSuspects.length} impenetrable region(s) in otherwise transparent cargo could hide a shielded source`,
    );
  else if (shielding) raise('elevated', 'impenetrable regions in largely opaque cargo');
  else if (anomaly) raise('elevated', `${scan.regions.length} X-ray anomaly region(s)`);
  if (occupancy === null) reasons.push("no occupancy of the lane in the scan's time window");
  return {
    scanId: scan.scanId,
    lane: scan.lane,
    occupancySeq: occupancy?.seq ?? null,
    priority,
    raised: RANK[priority] > RANK[base],
    reasons,
  };
}
