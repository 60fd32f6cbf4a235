/**
 * The neutron background an occupancy is tested against (SPEC §3 step 3), chosen at its start:
 * which tubes take part, λ (cps summed over them), where λ came from, and how precisely it is
 * known. See NeutronDetector.begin for the rules; a pure function of the device's estimate and
 * the background reports.
 */
import type { BackgroundTracker } from './background.js';
import type { HealthFinding, NeutronSummary } from './types.js';

export interface NeutronBackground {
  /** cps summed over the tubes in use; never below 0.1 per tube. */
  readonly lambda: number;
  readonly source: NeutronSummary['backgroundSource'];
  /** λ's precision as background-equivalent counts (λ²/var λ): the negative binomial's shape. */
  readonly shape: number;
}

export interface NeutronBackgroundOptions {
  readonly fallbackCpsPerTube: number;
  readonly maxCps: number;
  /** Seconds of background behind the device's estimate (SN1 background time). */
  readonly averagingS: number;
}

export type NeutronReport = (code: HealthFinding['code'], tube: number | null, message: string) => void;

/**
 * Fills `inUse` (1: the tube takes part in this occupancy's tests) and returns λ. Findings —
 * tubes left out, a coarse or missing background — go to `report`.
 */
export function chooseNeutronBackground(
  deviceCps: number | null,
  lines: BackgroundTracker,
  inUse: Uint8Array,
  o: NeutronBackgroundOptions,
  report: NeutronReport,
): NeutronBackground {
  const tubes = inUse.length;
  inUse.fill(1);
  const truncated = lines.truncated;
  let excludedCps = 0;
  let excluded = 0;
  if (lines.known && tubes > 1) {
    for (let c = 0; c < tubes; c++) {
      if (!lines.suspect(c)) continue;
      inUse[c] = 0;
      excluded++;
      const v = lines.cps(c);
      if (Number.isFinite(v)) excludedCps += v;
    }
    if (excluded === tubes) {
      inUse.fill(1);
      excluded = 0;
      excludedCps = 0;
    }
    for (let c = 0; c < tubes; c++) {
      if (inUse[c] === 0)
        report(
          'background-settling',
          c,
          `neutron tube ${c + 1} reports ${fmtCps(lines.cps(c))} cps: in a background fault or still settling after one — left out of the neutron tests`,
        );
    }
  }
  const used = tubes - excluded;
  let linesLow = NaN; // sum of the truncated reports of the tubes in use: a lower bound
  if (lines.known) {
    linesLow = 0;
    for (let c = 0; c < tubes; c++) {
      const v = lines.cps(c);
      if (inUse[c] === 1 && Number.isFinite(v)) linesLow += v;
    }
  }
  const floor = 0.1 * used;
  let lambda: number;
  let source: NeutronSummary['backgroundSource'];
  // The device's estimate is from the previous occupancy's end. Reports since then far below
  // even their truncation's upper bound mean it predates a fall (a tube's fault ended): it
  // would hide sources until the next end, so the reports stand in.
  const stale =
    deviceCps !== null &&
    Number.isFinite(linesLow) &&
    deviceCps > 1.5 * (linesLow + (truncated ? used : 0)) + 2;
  if ((excluded > 0 || stale) && Number.isFinite(linesLow)) {
    // The device's estimate sums every tube, the left-out one included (and lagging): the
    // tubes in use are measured by their own reports instead (truncated: +0.5 cps each).
    lambda = truncated ? linesLow + 0.5 * used : linesLow;
    source = 'lines';
  } else if (deviceCps !== null && Number.isFinite(deviceCps) && deviceCps > 0 && deviceCps < o.maxCps) {
    const device = excluded === 0 ? deviceCps : Math.min((deviceCps * used) / tubes, deviceCps - excludedCps);
    lambda = Number.isFinite(linesLow)
      ? Math.max(device, linesLow + (excluded > 0 && truncated ? 0.5 * used : 0))
      : device;
    source = 'device';
  } else if (Number.isFinite(linesLow)) {
    lambda = truncated ? linesLow + 0.5 * used : linesLow;
    source = 'lines';
    if (truncated) {
      report(
        'neutron-background-coarse',
        null,
        `neutron background from truncated NB lines (${linesLow} cps summed): +0.5 cps per tube assumed`,
      );
    }
  } else {
    lambda = o.fallbackCpsPerTube * used;
    source = 'fallback';
    report(
      'no-background',
      null,
      `no neutron background known: ${lambda} cps assumed (${o.fallbackCpsPerTube} per tube)`,
    );
  }
  lambda = Math.max(floor, lambda);
  // Precision of λ: the device's (or the reports') averaging time, plus the truncation of NB
  // lines (uniform ±0.5 cps per tube) when they are the source; a fallback is a guess (±50 %).
  const variance =
    source === 'fallback'
      ? 0.25 * lambda * lambda
      : lambda / o.averagingS + (source === 'lines' && truncated ? used / 12 : 0);
  return { lambda, source, shape: (lambda * lambda) / variance };
}

export function fmtCps(v: number): string {
  return Number.isFinite(v) ? String(v) : 'unknown';
}
