/**
 * Scoring the pipeline against ground truth (pure): which inserted anomalies were found, how
 * many reported regions match nothing. A truth box counts as detected when a reported box
 * overlaps it by at least a quarter of the smaller of the two; a reported box is false when it
 * overlaps no truth box at all.
 */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface TruthBox extends Rect {
  readonly kind: string;
}

function intersection(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

export function matches(truth: Rect, found: Rect): boolean {
  return (
    intersection(truth, found) >= 0.25 * Math.min(truth.width * truth.height, found.width * found.height)
  );
}

export interface Tally {
  scans: number;
  /** Per anomaly kind: inserted and detected. */
  perKind: Record<string, { inserted: number; detected: number }>;
  reported: number;
  falseRegions: number;
  /** Reported boxes that match an anomaly of a kind the detector is not meant for (shielding only). */
  onOtherAnomalies: number;
}

export function newTally(): Tally {
  return { scans: 0, perKind: {}, reported: 0, falseRegions: 0, onOtherAnomalies: 0 };
}

/**
 * Add one scan. `kinds` limits which truth kinds the detector is scored on (e.g. only `dense`
 * for the shielding detector); boxes on other anomalies are counted apart, not as false.
 */
export function tallyScan(
  t: Tally,
  truth: readonly TruthBox[],
  found: readonly Rect[],
  kinds?: readonly string[],
): void {
  t.scans++;
  const target = kinds ? truth.filter((b) => kinds.includes(b.kind)) : truth;
  for (const b of target) {
    const k = (t.perKind[b.kind] ??= { inserted: 0, detected: 0 });
    k.inserted++;
    if (found.some((f) => matches(b, f))) k.detected++;
  }
  for (const f of found) {
    t.reported++;
    if (target.some((b) => intersection(b, f) > 0)) continue;
    if (truth.some((b) => intersection(b, f) > 0)) t.onOtherAnomalies++;
    else t.falseRegions++;
  }
}

export interface TallySummary {
  readonly scans: number;
  readonly detectionRate: number;
  readonly perKind: Record<string, { inserted: number; detected: number; rate: number }>;
  readonly falseRegionsPerScan: number;
  readonly onOtherAnomaliesPerScan: number;
}

export function summarize(t: Tally): TallySummary {
  let inserted = 0;
  let detected = 0;
  const perKind: TallySummary['perKind'] = {};
  for (const [kind, k] of Object.entries(t.perKind).sort(([a], [b]) => a.localeCompare(b))) {
    inserted += k.inserted;
    detected += k.detected;
    perKind[kind] = { ...k, rate: round(k.detected / Math.max(1, k.inserted)) };
  }
  return {
    scans: t.scans,
    detectionRate: round(detected / Math.max(1, inserted)),
    perKind,
    falseRegionsPerScan: round(t.falseRegions / Math.max(1, t.scans)),
    onOtherAnomaliesPerScan: round(t.onOtherAnomalies / Math.max(1, t.scans)),
  };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
