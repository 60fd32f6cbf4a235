/**
 * Detector values → optical depth μ = ln(I₀ / I) per pixel (pure; SPEC §1.3). Handles the
 * scanner's polarity, the dark offset, the air value (from the sidecar or the image), and the
 * two line-scan artefacts that would otherwise look like anomalies: per-detector-row gain
 * (calibrated on the air columns before the vehicle enters) with dead or hot rows repaired from
 * their neighbours, and pulse-to-pulse source variation (calibrated on the air rows above the
 * vehicle). 16-bit values are used as they are: a 65,536-entry log table, no 8-bit step.
 *
 * In one piece (`normalizeScan`), or strip by strip with the same result (`calibrateHead`, then
 * `calibrateRows` / `depthRows` / `repairReady` / `finalRows`), so a tile can be cut as soon as its
 * rows are final;
 * the caller may hand in the depth buffer to reuse it from scan to scan.
 */
import type { Image16, Polarity } from './types.js';

export interface NormalizeOptions {
  readonly polarity: Polarity;
  readonly airValue?: number;
  readonly darkValue?: number;
  /** Leading columns that see only air (row-gain calibration). Default max(4, 2 % of width). */
  readonly airColumns?: number;
  /** Top rows that see only air (pulse calibration). Default max(4, 2 % of height). */
  readonly airRows?: number;
  /**
   * The depth is stored as μ × depthScale, μ rounded to float32 first: with 1 / 10 each value is
   * exactly the model's input (μ / 10), so tiles are plain copies of it. Default 1 (μ itself).
   */
  readonly depthScale?: number;
}

export interface Normalized {
  readonly width: number;
  readonly height: number;
  /**
   * Optical depth per pixel × the options' `depthScale` (default 1), ≥ 0 in practice (noise can
   * dip slightly below), μ at most {@link MAX_DEPTH}.
   */
  readonly depth: Float32Array;
  readonly air: number;
  readonly dark: number;
  /** Detector rows found dead or hot and repaired. */
  readonly repairedRows: readonly number[];
}

export const MAX_DEPTH = 12;

function transmissionOf(v: number, polarity: Polarity): number {
  return polarity === 'transmission' ? v : 65535 - v;
}

/** The 99.5th percentile of the transmission values: the air level when the sidecar has none. */
export function estimateAir(img: Image16, polarity: Polarity): number {
  const hist = new Uint32Array(65536);
  const data = img.data;
  for (let i = 0; i < data.length; i++) hist[data[i]!]!++;
  let remaining = Math.ceil(data.length * 0.005);
  // Walk from the most transmissive value down: 65535 → 0 raw for transmission, 0 → 65535 for attenuation.
  for (let t = 65535; t > 0; t--) {
    remaining -= hist[transmissionOf(t, polarity)]!;
    if (remaining <= 0) return t;
  }
  return 1;
}

/**
 * The median (upper for an even count) of values[0, n), sorting them in place. Up to 64 values
 * (the air columns or rows of a scan up to 3200 px), thousands of times per scan, by insertion
 * sort, where a typed array's sort() costs an allocation and a call each; the values (finite,
 * no −0) sort the same either way.
 */
function median(values: Float64Array, n: number): number {
  if (n === 0) return NaN;
  if (n > 64) return values.subarray(0, n).sort()[n >> 1]!;
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= 0 && values[j]! > v) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = v;
  }
  return values[n >> 1]!;
}

/**
 * ln(max(transmission − dark, 1)) per raw value, rounded to float32 (the depth's precision) but
 * held as float64, so that {@link depthRow} reads doubles instead of converting two floats per
 * pixel (the same values). Cached for the last (polarity, dark).
 */
let lnCache: { polarity: Polarity; dark: number; table: Float64Array } | null = null;
function lnTable(polarity: Polarity, dark: number): Float64Array {
  if (lnCache?.polarity === polarity && lnCache.dark === dark) return lnCache.table;
  const table = new Float64Array(65536);
  for (let v = 0; v < 65536; v++)
    table[v] = Math.fround(Math.log(Math.max(transmissionOf(v, polarity) - dark, 1)));
  lnCache = { polarity, dark, table };
  return table;
}

/**
 * What the depth of every row needs, measured from the air columns and rows (a small part of
 * the image): the scan can then be normalized strip by strip ({@link depthRows},
 * {@link repairReady}) with the same result as in one piece. A row's gain needs only its own air
 * columns, so rows may be calibrated as they are reached ({@link calibrateHead}, then
 * {@link calibrateRows}); {@link calibrate} does every row at once.
 */
export interface Calibration {
  readonly width: number;
  readonly height: number;
  readonly air: number;
  readonly dark: number;
  /** ln(air − dark) + the row's log gain, per row (rows [0, {@link rows}) so far). */
  readonly rowBase: Float64Array;
  /** Per-column (pulse) log gain, rounded to float32 (held as float64: see {@link lnTable}). */
  readonly lgx: Float64Array;
  readonly lnTab: Float64Array;
  readonly isBad: Uint8Array;
  /** What μ is multiplied by as it is stored (NormalizeOptions.depthScale). */
  readonly scale: number;
  /** Dead or hot rows, top to bottom (among rows [0, {@link rows})). */
  readonly bad: readonly number[];
  /** Rows [0, rows) calibrated so far. */
  readonly rows: number;
}

/** What {@link calibrateRows} updates. */
interface RowCalibration extends Calibration {
  bad: number[];
  rows: number;
  readonly polarity: Polarity;
  readonly span: number;
  readonly airCols: number;
  /** Per-row log gain (0 for rows outside [0.95, 1.05]). */
  readonly lgy: Float64Array;
  readonly image: Uint16Array;
  readonly vals: Float64Array;
}

export function calibrate(img: Image16, options: NormalizeOptions): Calibration {
  const cal = calibrateHead(img, options);
  calibrateRows(cal, img.height);
  return cal;
}

/**
 * The image rows {@link calibrateHead} reads: the air rows at the top, or every row when the air
 * level must be estimated from the whole image (a streamed decode waits for these first).
 */
export function headRows(height: number, options: NormalizeOptions): number {
  return options.airValue === undefined ? height : airRowsOf(height, options);
}

const airRowsOf = (H: number, options: NormalizeOptions): number =>
  Math.min(H, options.airRows ?? Math.max(4, Math.round(0.02 * H)));

/**
 * The air level, the pulse gains (from the air rows, whose own gains it calibrates first) and
 * nothing else: the rest of the rows are calibrated by {@link calibrateRows} before their depth.
 * Without an air value the air level is estimated from the whole image.
 */
export function calibrateHead(img: Image16, options: NormalizeOptions): Calibration {
  const { width: W, height: H, data } = img;
  const polarity = options.polarity;
  const dark = options.darkValue ?? 0;
  const air = options.airValue ?? estimateAir(img, polarity);
  const span = Math.max(1, air - dark);
  const cal: RowCalibration = {
    width: W,
    height: H,
    air,
    dark,
    rowBase: new Float64Array(H),
    lgx: new Float64Array(W),
    lnTab: lnTable(polarity, dark),
    isBad: new Uint8Array(H),
    scale: options.depthScale ?? 1,
    bad: [],
    rows: 0,
    polarity,
    span,
    airCols: Math.min(W, options.airColumns ?? Math.max(4, Math.round(0.02 * W))),
    lgy: new Float64Array(H),
    image: data,
    vals: new Float64Array(Math.max(W, H)),
  };
  const airRows = airRowsOf(H, options);
  calibrateRows(cal, airRows);
  const { vals, isBad, lgx } = cal;
  const rowGain = cal.lgy.subarray(0, airRows).map(Math.exp);
  for (let x = 0; x < W; x++) {
    let n = 0;
    for (let y = 0; y < airRows; y++)
      if (!isBad[y]) vals[n++] = (transmissionOf(data[y * W + x]!, polarity) - dark) / rowGain[y]!;
    const gain = median(vals, n) / span;
    if (gain > 0.95 && gain < 1.05) lgx[x] = Math.fround(Math.log(gain));
  }
  return cal;
}

/** Calibrate rows [cal.rows, end) (their gains; dead or hot rows found): before their depth. */
export function calibrateRows(calibration: Calibration, end: number): void {
  const cal = calibration as RowCalibration;
  const { width: W, image: data, polarity, dark, span, airCols, vals } = cal;
  const lnAir = Math.log(span);
  for (let y = cal.rows; y < Math.min(end, cal.height); y++) {
    for (let x = 0; x < airCols; x++) vals[x] = transmissionOf(data[y * W + x]!, polarity) - dark;
    const gain = median(vals, airCols) / span;
    if (gain > 0.95 && gain < 1.05) cal.lgy[y] = Math.log(gain);
    else if (gain < 0.8 || gain > 1.25) {
      cal.bad.push(y); // dead or hot detector row
      cal.isBad[y] = 1;
    }
    cal.rowBase[y] = lnAir + cal.lgy[y]!;
    cal.rows = y + 1;
  }
}

/** Depth of rows [y0, y1) into `depth` (bad rows too: {@link repairReady} overwrites them). */
export function depthRows(
  cal: Calibration,
  data: Uint16Array,
  depth: Float32Array,
  y0: number,
  y1: number,
): void {
  const W = cal.width;
  if (y1 > cal.rows) throw new RangeError(`depth of rows up to ${y1}, but only ${cal.rows} are calibrated`);
  for (let y = y0; y < y1; y++)
    depthRow(depth, data, y * W, W, cal.rowBase[y]!, cal.lgx, cal.lnTab, cal.scale);
}

/**
 * Once rows [0, done) have their depth: repair the bad rows whose neighbours are both done (from
 * `from`, the count of bad rows repaired so far) and return the new count. Rows before the first
 * bad row still unrepaired are final.
 */
export function repairReady(cal: Calibration, depth: Float32Array, done: number, from: number): number {
  let k = from;
  for (; k < cal.bad.length; k++) {
    const y = cal.bad[k]!;
    let below = y + 1;
    while (below < cal.height && cal.isBad[below]) below++;
    if (y >= done || (below < cal.height && below >= done)) break;
    repairRow(depth, cal.width, cal.height, y, cal.isBad);
  }
  return k;
}

/** Rows [0, n) whose depth is final, given `done` rows computed and `repaired` bad rows repaired. */
export function finalRows(cal: Calibration, done: number, repaired: number): number {
  return repaired < cal.bad.length ? Math.min(done, cal.bad[repaired]!) : done;
}

/**
 * Normalize one image. `into`, when given and large enough, receives the depth (its first
 * width × height values), so a worker can keep one buffer for every scan.
 */
export function normalizeScan(img: Image16, options: NormalizeOptions, into?: Float32Array): Normalized {
  const { width: W, height: H, data } = img;
  const cal = calibrate(img, options);
  const depth =
    into !== undefined && into.length >= W * H ? into.subarray(0, W * H) : new Float32Array(W * H);
  depthRows(cal, data, depth, 0, H);
  repairReady(cal, depth, H, 0);
  return { width: W, height: H, depth, air: cal.air, dark: cal.dark, repairedRows: cal.bad };
}

/** One row of depth; a function of its own so the hot loop is optimized on its own. */
function depthRow(
  depth: Float32Array,
  data: Uint16Array,
  row: number,
  W: number,
  base: number,
  lgx: Float64Array,
  lnTab: Float64Array,
  scale: number,
): void {
  // A local: the module's exported constant is read through its binding on every pixel. With the
  // float64 tables, a 2048 × 1024 scan's depth takes 7.2 ms instead of 8.4 (same values).
  const max = MAX_DEPTH;
  for (let x = 0; x < W; x++) {
    // Math.min, not `d > max ? max : d`: that phi of a constant and a double is kept tagged by
    // TurboFan, a heap number per pixel (32 MB of garbage per 2048 × 1024 scan).
    // μ rounded to float32, then scaled: with 1 / 10 the very float32 that cutting a tile from
    // a depth in μ gave (× 0.1), so the model's input is unchanged.
    depth[row + x] = Math.fround(Math.min(base + lgx[x]! - lnTab[data[row + x]!]!, max)) * scale;
  }
}

/** Replace bad row y by the mean of the nearest good rows above and below. */
function repairRow(depth: Float32Array, W: number, H: number, y: number, isBad: Uint8Array): void {
  let above = y - 1;
  while (above >= 0 && isBad[above]) above--;
  let below = y + 1;
  while (below < H && isBad[below]) below++;
  for (let x = 0; x < W; x++) {
    const a = above >= 0 ? depth[above * W + x]! : undefined;
    const b = below < H ? depth[below * W + x]! : undefined;
    depth[y * W + x] = a !== undefined && b !== undefined ? (a + b) / 2 : (a ?? b ?? 0);
  }
}
