/**
 * The overlay image for the console (SPEC §6): the scan in grey (optical depth, log scale), the
 * anomaly heat map blended in red/orange, model regions boxed in yellow and shielding suspects
 * in magenta. `renderOverlay` is pure (RGB bytes); `encodeOverlayPng` is the sharp step.
 */
import sharp from 'sharp';
import { runSync, type Steps } from './chunked.js';
import type { HeatMap } from './tiling.js';
import type { ScoredRegion } from './types.js';

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
}

export interface OverlayImage {
  readonly rgb: Uint8Array;
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
  return runSync(overlaySteps(o));
}

/** {@link renderOverlay} in bands of rows (see chunked.ts). */
export function* overlaySteps(o: OverlayInput): Steps<OverlayImage> {
  const { depth, heat } = o;
  const k = o.scale ?? 1;
  const W = Math.floor(o.width / k);
  const H = Math.floor(o.height / k);
  const rgb = new Uint8Array(W * H * 3);
  const grey = new Uint8Array(256);
  for (let q = 0; q < 256; q++) grey[q] = Math.round(255 * (1 - q / 255));
  const half = o.threshold / 2;
  for (let y = 0; y < H; y++) {
    if ((y & 63) === 63) yield;
    const hy = Math.floor((y * k) / heat.stride) * heat.cols;
    const src = y * k * o.width;
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const d = depth[src + x * k]!;
      const g = grey[d <= 0 ? 0 : d >= 8 ? 255 : (d * 31.875) | 0]!;
      let r = g;
      let gg = g;
      let b = g;
      const h = heat.data[hy + Math.floor((x * k) / heat.stride)]!;
      if (h >= half) {
        const a = Math.min(0.6, (0.3 * h) / o.threshold);
        const hot = h >= o.threshold;
        r = g + a * (255 - g);
        gg = g + a * ((hot ? 40 : 150) - g);
        b = g * (1 - a);
      }
      rgb[i * 3] = r;
      rgb[i * 3 + 1] = gg;
      rgb[i * 3 + 2] = b;
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

export function encodeOverlayPng(img: OverlayImage): Promise<Buffer> {
  return sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png({ compressionLevel: 2, adaptiveFiltering: false })
    .toBuffer();
}
