/**
 * Per-sample health checks of the gamma counts (issue 4, "bad input"): a value that is not a
 * count or is beyond the detector's range leaves its channel out (it reads as the expected count
 * meanwhile); a channel that reads 0 four times in a row where ≥ 5 counts are due is dead, one
 * that repeats the same count `stuckSamples` times where ≥ 3 are due is stuck. Poisson counts do
 * neither by chance (P(0) = e^−μ, P(same value) < 1/√(2πμ)). The look-back samples count
 * toward the runs; a stuck run is shorter where the counts are high ({@link stuckRun}).
 * Allocation-free per sample.
 */
import type { HealthCode } from './types.js';

/** What the checks need from the detector (passed as itself: no closure per sample). */
export interface ChannelHost {
  /** Expected counts of channel c in one sample. */
  expected(c: number): number;
  usable(c: number): boolean;
  disableChannel(c: number): void;
  report(code: HealthCode, channel: number | null, message: string): void;
}

export class SampleChecks {
  /** The last validated sample (bad values replaced). */
  readonly counts: Float64Array;
  private readonly runValue: Float64Array;
  private readonly runLength: Uint16Array;
  /** A count beyond the detector's range was seen: the verdict must be INVESTIGATE. */
  absurdHigh = false;

  constructor(
    readonly channels: number,
    private readonly names: readonly string[],
    private readonly maxCps: number,
    private readonly stuckSamples: number,
  ) {
    this.counts = new Float64Array(channels);
    this.runValue = new Float64Array(channels);
    this.runLength = new Uint16Array(channels);
  }

  reset(): void {
    this.runLength.fill(0);
    this.absurdHigh = false;
  }

  /**
   * Clean a sample into `counts`: a bad value reads as the expected count and its channel leaves.
   */
  validate(raw: readonly number[], dt: number, host: ChannelHost): Float64Array {
    if (raw.length !== this.channels) {
      host.report(
        'channel-count-mismatch',
        null,
        `gamma sample has ${raw.length} channels, the lane has ${this.channels}`,
      );
    }
    for (let c = 0; c < this.channels; c++) {
      const x = c < raw.length ? raw[c]! : NaN;
      if (Number.isFinite(x) && x >= 0 && x <= this.maxCps * dt) {
        this.counts[c] = x;
        continue;
      }
      const high = Number.isFinite(x) && x > this.maxCps * dt;
      if (high) this.absurdHigh = true;
      host.report(
        high ? 'absurd-counts' : 'negative-counts',
        c,
        `${this.names[c]!} sample count ${String(x)} ${high ? 'beyond the detector range' : 'is not a count'}: channel left out`,
      );
      this.counts[c] = host.expected(c);
      host.disableChannel(c);
    }
    return this.counts;
  }

  /** Dead and stuck runs among the usable channels. */
  runs(host: ChannelHost): void {
    for (let c = 0; c < this.channels; c++) {
      if (!host.usable(c)) continue;
      const x = this.counts[c]!;
      const mu = host.expected(c);
      if (x === this.runValue[c] && this.runLength[c]! < 65535) this.runLength[c]!++;
      else {
        this.runValue[c] = x;
        this.runLength[c] = 1;
      }
      if (x === 0 && mu >= 5 && this.runLength[c]! >= 4) {
        host.report(
          'dead-channel',
          c,
          `${this.names[c]!} counts 0 while ${mu.toFixed(0)} are expected per sample`,
        );
        host.disableChannel(c);
      } else if (x > 0 && mu >= 3 && this.runLength[c]! >= Math.min(this.stuckSamples, stuckRun(mu))) {
        host.report(
          'stuck-channel',
          c,
          `${this.names[c]!} repeats ${x} counts in ${this.runLength[c]!} samples`,
        );
        host.disableChannel(c);
      }
    }
  }
}

/**
 * Identical counts in a row that make a channel stuck at `mu` expected counts per sample: Poisson
 * repeats a value with P ≈ 1/√(4πμ), so the run is the one whose chance is below 1e-7 — 8 at a
 * few counts, 5 from ~300 (a channel stuck through the look-back is out before its first test).
 */
function stuckRun(mu: number): number {
  return Math.max(5, Math.ceil(1 + 7 / Math.log10(Math.sqrt(4 * Math.PI * mu))));
}
