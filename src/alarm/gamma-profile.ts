/**
 * The gross-count profile of one occupancy, stored as running sums so any window's counts cost
 * O(1): `cum(g, i)` is the count of group g over samples 0…i. Groups are the channels in
 * canonical order, then (when there are several) their sum over the usable channels.
 *
 * Bounded memory (an occupancy that never ends): a ring of `capacity` samples. Once it wraps,
 * only the newest `capacity` samples can be read back; `truncated` says so. Allocated once per
 * lane and reset per occupancy.
 */
export class GammaProfile {
  readonly channels: number;
  /** Number of groups: the channels, plus the sum when there is more than one channel. */
  readonly groups: number;
  readonly sumGroup: number;
  readonly capacity: number;
  /** Running sums, sample-major: entry (i mod capacity)·groups + g. One array: reads stay local. */
  private readonly cums: Float64Array;
  private readonly usableMask: Uint8Array;
  /** Samples appended so far (absolute index of the next one). */
  n = 0;

  constructor(channels: number, capacity: number) {
    this.channels = Math.max(1, channels);
    this.groups = this.channels > 1 ? this.channels + 1 : 1;
    this.sumGroup = this.channels > 1 ? this.channels : 0;
    this.capacity = Math.max(16, capacity);
    this.cums = new Float64Array(this.capacity * this.groups);
    this.usableMask = new Uint8Array(this.channels).fill(1);
  }

  reset(): void {
    this.n = 0;
    this.usableMask.fill(1);
  }

  /** The oldest absolute index still stored. */
  get first(): number {
    return Math.max(0, this.n - this.capacity + 1);
  }

  get truncated(): boolean {
    return this.n > this.capacity - 1;
  }

  usable(c: number): boolean {
    return this.usableMask[c] === 1;
  }

  usableCount(): number {
    let k = 0;
    for (let c = 0; c < this.channels; c++) k += this.usableMask[c]!;
    return k;
  }

  /** Append one sample (already validated: finite, non-negative). */
  append(counts: ArrayLike<number>): void {
    const i = this.n;
    const G = this.groups;
    const at = (i % this.capacity) * G;
    const prev = i === 0 ? -1 : ((i - 1) % this.capacity) * G;
    const cums = this.cums;
    let s = 0;
    for (let c = 0; c < this.channels; c++) {
      const x = counts[c]!;
      cums[at + c] = (prev < 0 ? 0 : cums[prev + c]!) + x;
      if (this.usableMask[c] === 1) s += x;
    }
    if (G > 1) cums[at + this.sumGroup] = (prev < 0 ? 0 : cums[prev + this.sumGroup]!) + s;
    this.n++;
  }

  /**
   * Offset of sample i's running sums in {@link sums} (−1 for i < 0: all zero). With it, a hot
   * loop reads a window of every group as `sums[row(b) + g] − sums[row(a) + g]` and computes
   * the ring position once per window, not once per group.
   */
  row(i: number): number {
    if (i < 0) return -1;
    return (i < this.capacity ? i : i % this.capacity) * this.groups;
  }

  /** The running sums (read-only to callers; see {@link row}). */
  get sums(): Float64Array {
    return this.cums;
  }

  /** Count of group g over samples 0…i (i < first → treated as the start: callers stay in range). */
  cum(g: number, i: number): number {
    if (i < 0) return 0;
    return this.cums[(i < this.capacity ? i : i % this.capacity) * this.groups + g]!;
  }

  /** Counts of group g over absolute samples (a, b], i.e. b − a samples ending at b. */
  window(g: number, a: number, b: number): number {
    return this.cum(g, b) - this.cum(g, a);
  }

  /** One sample of group g. */
  at(g: number, i: number): number {
    return this.cum(g, i) - this.cum(g, i - 1);
  }

  /** Take channel c out of the sum group; rebuilds the sum's running counts (rare, O(n·C)). */
  disable(c: number): void {
    if (this.usableMask[c] === 0) return;
    this.usableMask[c] = 0;
    if (this.groups === 1) return;
    const G = this.groups;
    const sg = this.sumGroup;
    const from = this.first;
    // The base before `first` is unknown once the ring has wrapped: restart the sum there at the
    // channels' own base, which keeps every readable difference exact.
    let acc = 0;
    for (let c2 = 0; c2 < this.channels; c2++) {
      if (this.usableMask[c2] === 1) acc += from === 0 ? 0 : this.cum(c2, from - 1);
    }
    if (from > 0) this.cums[((from - 1) % this.capacity) * G + sg] = acc;
    for (let i = from; i < this.n; i++) {
      let s = 0;
      for (let c2 = 0; c2 < this.channels; c2++) if (this.usableMask[c2] === 1) s += this.at(c2, i);
      acc += s;
      this.cums[(i % this.capacity) * G + sg] = acc;
    }
  }
}
