/**
 * The pictures for the console (SPEC §6). The overlay: the scan in grey (optical depth, log
 * scale), the anomaly heat map blended in red/orange, model regions boxed in yellow and shielding
 * suspects in magenta. The preview: the original image in 8-bit grey, dense = dark. Rendering is
 * pure (pixel bytes; row by row, so it can be done in slices); `encodePng` is the sharp step
 * (libuv pool).
 */
import sharp from './sharp.js';
import type { HeatMap } from './tiling.js';
import type { Image16, ScoredRegion } from './types.js';

export interface OverlayInput {
  readonly width: number;
  readonly height: number;
  readonly depth: Float32Array;
  readonly heat: HeatMap;
  readonly threshold: number;
  readonly regions: readonly ScoredRegion[];
  readonly shielding: readonly ScoredRegion[];
  /** Integer down-scaling of the picture (1 = full size). Boxes are scaled with it. */
  readonly scale?: number;
  /** The depth's unit: values are μ × depthScale (NormalizeOptions.depthScale). Default 1. */
  readonly depthScale?: number;
  /** Where to draw (its first width × height × 3 bytes), when large enough; else a new buffer. */
  readonly into?: Uint8Array;
}

export interface OverlayImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** An 8-bit greyscale picture. */
export interface GreyImage {
  readonly grey: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** The scale that keeps an overlay at most `maxWidth` wide (default 1024: a console panel). */
export function overlayScaleFor(width: number, maxWidth = 1024): number {
  return Math.max(1, Math.ceil(width / maxWidth));
}

const YELLOW = [255, 220, 0] as const;
const MAGENTA = [255, 0, 255] as const;

export function renderOverlay(o: OverlayInput): OverlayImage {
  const k = o.scale ?? 1;
  const W = Math.floor(o.width / k);
  const H = Math.floor(o.height / k);
  const rgb =
    o.into !== undefined && o.into.length >= W * H * 3
      ? o.into.subarray(0, W * H * 3)
      : new Uint8Array(W * H * 3);
  overlayGreyRows(o, rgb, 0, H);
  return overlayMarks(o, rgb);
}

/** 255 for no depth to 0 for μ ≥ 8, per quarter-step of 8 / 255. */
const GREY = Uint8Array.from({ length: 256 }, (_, q) => Math.round(255 * (1 - q / 255)));

/**
 * The overlay's grey rows [y0, y1) (its own rows, after scaling) from the depth alone — the part
 * that can be drawn before the heat map exists; {@link overlayMarks} adds the rest.
 */
export function overlayGreyRows(
  o: Pick<OverlayInput, 'width' | 'depth' | 'scale' | 'depthScale'>,
  rgb: Uint8Array,
  y0: number,
  y1: number,
): void {
  const { depth } = o;
  const k = o.scale ?? 1;
  const W = Math.floor(o.width / k);
  const unit = o.depthScale ?? 1;
  const top = 8 * unit;
  const step = 31.875 / unit;
  for (let y = y0; y < y1; y++) {
    const src = y * k * o.width;
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const d = depth[src + x * k]!;
      const g = GREY[d <= 0 ? 0 : d >= top ? 255 : (d * step) | 0]!;
      rgb[i] = g;
      rgb[i + 1] = g;
      rgb[i + 2] = g;
    }
  }
}

/** Blend the heat map into grey drawn by {@link overlayGreyRows}, then box regions and suspects. */
export function overlayMarks(o: OverlayInput, rgb: Uint8Array): OverlayImage {
  const { heat } = o;
  const k = o.scale ?? 1;
  const W = Math.floor(o.width / k);
  const H = Math.floor(o.height / k);
  const half = o.threshold / 2;
  const s = heat.stride;
  // Only cells at or above half the threshold change anything: visit those, and the picture's
  // pixels x with floor(x·k / s) = the cell's column, i.e. x in [⌈c·s / k⌉, ⌈(c + 1)·s / k⌉).
  for (let y = 0; y < H; y++) {
    const hy = Math.floor((y * k) / s) * heat.cols;
    for (let c = 0; c < heat.cols; c++) {
      const h = heat.data[hy + c]!;
      if (!(h >= half)) continue;
      const a = Math.min(0.6, (0.3 * h) / o.threshold);
      const tint = h >= o.threshold ? 40 : 150;
      const x1 = Math.min(W, Math.ceil(((c + 1) * s) / k));
      for (let x = Math.ceil((c * s) / k); x < x1; x++) {
        const i = (y * W + x) * 3;
        const g = rgb[i]!;
        rgb[i] = g + a * (255 - g);
        rgb[i + 1] = g + a * (tint - g);
        rgb[i + 2] = g * (1 - a);
      }
    }
  }
  const scaled = (r: ScoredRegion): ScoredRegion => ({
    ...r,
    x: Math.floor(r.x / k),
    y: Math.floor(r.y / k),
    width: Math.ceil(r.width / k),
    height: Math.ceil(r.height / k),
  });
  for (const r of o.regions) drawBox(rgb, W, H, scaled(r), YELLOW);
  for (const r of o.shielding) drawBox(rgb, W, H, scaled(r), MAGENTA);
  return { rgb, width: W, height: H };
}

function drawBox(
  rgb: Uint8Array,
  W: number,
  H: number,
  b: ScoredRegion,
  c: readonly [number, number, number],
): void {
  const set = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const i = (y * W + x) * 3;
    rgb[i] = c[0];
    rgb[i + 1] = c[1];
    rgb[i + 2] = c[2];
  };
  for (let t = 0; t < 2; t++) {
    for (let x = b.x; x < b.x + b.width; x++) {
      set(x, b.y + t);
      set(x, b.y + b.height - 1 - t);
    }
    for (let y = b.y; y < b.y + b.height; y++) {
      set(b.x + t, y);
      set(b.x + b.width - 1 - t, y);
    }
  }
}

export interface PreviewOptions {
  readonly polarity: string;
  readonly airValue?: number;
  readonly darkValue?: number;
  /** Integer down-scaling (k × k pixels averaged). Default 1. */
  readonly scale?: number;
  /** Where to draw (its first width × height bytes), when large enough; else a new buffer. */
  readonly into?: Uint8Array;
}

/** The preview's air level when the scan gives none: the brightest of every 7th sample. */
export function previewAir(image: Image16): number {
  const { data } = image;
  let air = 1;
  for (let i = 0; i < data.length; i += 7) if (data[i]! > air) air = data[i]!;
  return air;
}

/** The original image as 8-bit grey, linear from dark (0) to air (255), dense = dark. */
export function renderPreview(image: Image16, o: PreviewOptions): GreyImage {
  const { width, data } = image;
  const k = o.scale ?? 1;
  const W = Math.floor(width / k);
  const H = Math.floor(image.height / k);
  const dark = o.darkValue ?? 0;
  const air = o.airValue ?? previewAir(image);
  const gain = 255 / (k * k * Math.max(1, air - dark));
  const offset = (dark * 255) / Math.max(1, air - dark);
  const invert = o.polarity === 'attenuation';
  const grey =
    o.into !== undefined && o.into.length >= W * H ? o.into.subarray(0, W * H) : new Uint8Array(W * H);
  const shade = k <= MAX_TABLE_SCALE ? shadeTable(k, gain, offset, invert) : null;
  for (let y = 0; y < H; y++) {
    if (shade !== null && k === 2) pairRows(data, 2 * y * width, width, W, shade, grey, y * W);
    else slowRow(data, width, y * k, k, W, gain, offset, invert, shade, grey, y * W);
  }
  return { grey, width: W, height: H };
}

/** Largest scale whose block sums get a lookup table (k² × 65,535 + 1 entries: 1 MB at 4). */
const MAX_TABLE_SCALE = 4;

/**
 * A preview pixel's grey for every block sum (integer samples, so the sum is exact): the same
 * arithmetic as per pixel, done once per possible sum instead of once per pixel (Math.round and
 * the clamps were most of the preview's time); cached for the last (scale, gain, offset, polarity).
 */
let shadeCache: { key: string; table: Uint8Array } | null = null;
function shadeTable(k: number, gain: number, offset: number, invert: boolean): Uint8Array {
  const key = `${k} ${gain} ${offset} ${invert}`;
  if (shadeCache?.key === key) return shadeCache.table;
  const table = new Uint8Array(k * k * 65535 + 1);
  for (let sum = 0; sum < table.length; sum++) {
    const v = Math.min(255, Math.max(0, Math.round(sum * gain - offset)));
    table[sum] = invert ? 255 - v : v;
  }
  shadeCache = { key, table };
  return table;
}

/** One preview row at scale 2 (the 2048-wide scans): 2 × 2 sums looked up in the table. */
function pairRows(
  data: Uint16Array,
  row: number,
  width: number,
  W: number,
  shade: Uint8Array,
  grey: Uint8Array,
  at: number,
): void {
  const below = row + width;
  for (let x = 0; x < W; x++) {
    const i = 2 * x;
    grey[at + x] = shade[data[row + i]! + data[row + i + 1]! + data[below + i]! + data[below + i + 1]!]!;
  }
}

/** One preview row at any scale: the block sums, looked up when there is a table. */
function slowRow(
  data: Uint16Array,
  width: number,
  sy: number,
  k: number,
  W: number,
  gain: number,
  offset: number,
  invert: boolean,
  shade: Uint8Array | null,
  grey: Uint8Array,
  at: number,
): void {
  for (let x = 0; x < W; x++) {
    let sum = 0;
    for (let dy = 0; dy < k; dy++) {
      const from = (sy + dy) * width + x * k;
      for (let i = from; i < from + k; i++) sum += data[i]!;
    }
    if (shade !== null) grey[at + x] = shade[sum]!;
    else {
      const v = Math.min(255, Math.max(0, Math.round(sum * gain - offset)));
      grey[at + x] = invert ? 255 - v : v;
    }
  }
}

/** PNG of an overlay (RGB) or a preview (grey): fast settings, the console shows them once. */
export function encodePng(img: OverlayImage | GreyImage): Promise<Buffer> {
  // zlib level 1: about 30 % faster than 2 for about 40 % more bytes (1024 × 512 overlay ≈ 290 kB).
  const png = { compressionLevel: 1, adaptiveFiltering: false } as const;
  if ('rgb' in img)
    return sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } })
      .png(png)
      .toBuffer();
  // One band would otherwise be written as sRGB (three equal channels).
  return sharp(img.grey, { raw: { width: img.width, height: img.height, channels: 1 } })
    .toColourspace('b-w')
    .png(png)
    .toBuffer();
}
