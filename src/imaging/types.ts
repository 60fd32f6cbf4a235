/**
 * Shared imaging types (SPEC §1.3, §5 `analyze`): a decoded scan, its sidecar metadata, and the
 * `imaging.scan.analyzed` data. Pixel coordinates are always those of the input image.
 */

/** Which energy an image was taken at: dual-energy scanners give a high and a low image. */
export type Energy = 'high' | 'low';

/**
 * Pixel polarity: `transmission` (lower value = more attenuation, the usual detector output) or
 * `attenuation` (higher value = more attenuation). Configurable per scanner (SPEC §1.3).
 */
export type Polarity = 'transmission' | 'attenuation';

/** One 16-bit greyscale image, row-major, one sample per pixel. */
export interface Image16 {
  readonly width: number;
  readonly height: number;
  readonly data: Uint16Array;
}

/** What the scanner workstation tells us about a scan (JSON sidecar, DICOS header, upload fields). */
export interface ScanMeta {
  readonly scanId: string;
  /** Lane the scanner sits on, for fusion with the lane's occupancy. */
  readonly lane?: string;
  /** Start of the scan, epoch ms. */
  readonly time?: number;
  readonly polarity: Polarity;
  /** Detector value for unattenuated air; estimated from the image when absent. */
  readonly airValue?: number;
  /** Detector dark offset (value with the beam blocked). Default 0. */
  readonly darkValue?: number;
  /** Pixel pitch in mm (horizontal, vertical) when known. */
  readonly pixelPitchMm?: number;
  /** Nominal energies in MV, e.g. { high: 6, low: 3.5 }. */
  readonly energiesMv?: Partial<Record<Energy, number>>;
  /** Container or vehicle id (ISO 6346) when the workstation read it. */
  readonly containerId?: string;
}

/** How far an image's rows are decoded (png-stream.ts decodes the usual PNG as a stream). */
export interface RowProgress {
  readonly height: number;
  /** Rows [0, rows) are decoded. */
  readonly rows: number;
  /** Resolves once rows [0, n) are decoded; rejects with the decode's error. */
  whenRows(n: number): Promise<void>;
  /** Resolves when the whole image is decoded and checked; rejects with the decode's error. */
  readonly done: Promise<void>;
}

/** A scan whose images are still being decoded while its analysis starts. */
export interface ScanDecoding {
  /** The high-energy image's rows: the analysis waits for the rows it needs. */
  readonly high: RowProgress;
  /** Every image of the scan decoded: the decode's time (ms); rejects with the first decode error. */
  readonly done: Promise<number>;
}

/** A scan ready for analysis: one or two energies of the same size. */
export interface Scan {
  readonly meta: ScanMeta;
  readonly high: Image16;
  readonly low?: Image16;
  /** Where it came from: file names or `upload:<id>`. */
  readonly sources: readonly string[];
  /**
   * Present when the images are still being decoded (rows fill in from the top): their pixels
   * are read only as this says they are in.
   */
  readonly decoding?: ScanDecoding;
}

/** A box in input pixel coordinates with a score (higher = more suspicious). */
export interface ScoredRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly score: number;
}

export interface ShieldingSuspect extends ScoredRegion {
  /** Fraction of the box's pixels that no usable signal penetrated. */
  readonly opaqueFraction: number;
  /** Area in pixels of the opaque component. */
  readonly areaPx: number;
}

export interface AnalysisTimings {
  readonly decodeMs: number;
  readonly preprocessMs: number;
  readonly inferenceMs: number;
  readonly postprocessMs: number;
  readonly shieldingMs: number;
  readonly totalMs: number;
}

/** The data of the `imaging.scan.analyzed` event (SPEC §4, §5). */
export interface ScanAnalyzedData {
  readonly scanId: string;
  readonly lane: string | null;
  readonly time: string | null;
  readonly image: { readonly width: number; readonly height: number; readonly energies: readonly Energy[] };
  readonly model: { readonly id: string; readonly sha256: string; readonly opset: number };
  /** Anomaly regions from the model's heat map, most suspicious first. */
  readonly regions: readonly ScoredRegion[];
  /** Regions too dense to penetrate (deterministic detector, no model). */
  readonly shieldingSuspects: readonly ShieldingSuspect[];
  /** Highest heat-map score anywhere in the scan. */
  readonly maxScore: number;
  readonly timings: AnalysisTimings;
  readonly sources: readonly string[];
}
