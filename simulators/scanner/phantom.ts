/**
 * Synthetic cargo radiographs ("X-ray phantoms", SPEC §2): a container on a chassis seen side
 * on — side walls, corrugation, roof, floor, end walls, wheels — filled with a load (pallets of
 * varied density, a homogeneous bulk load, a sparse load), then anomalies with known boxes:
 * dense shielding-like blocks, voids, hidden compartments, objects that break a homogeneous
 * load. The detector model adds photon noise, per-row gain (detector-line artefacts), pulse-to-
 * pulse source variation and the occasional dead or hot detector row.
 *
 * Pure and deterministic: the same options give the same pixels (seeded RNG, no I/O).
 * Attenuation is drawn in "high-energy optical depth" units μ (transmission = e^-μ); the low
 * energy image sees μ scaled per material (organic < steel < lead), as dual-energy scanners do.
 */
import { createRng, type Rng, type Seed } from '../physics/rng.js';
import type { Image16, Polarity } from '../../src/imaging/types.js';

export type AnomalyKind = 'dense' | 'void' | 'compartment' | 'object';
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['dense', 'void', 'compartment', 'object'];
export type LoadKind = 'pallets' | 'homogeneous' | 'sparse';

export interface PhantomOptions {
  readonly seed: Seed;
  /** Default 1024 × 512. */
  readonly width?: number;
  readonly height?: number;
  /** 1 (high only) or 2 (high and low). Default 1. */
  readonly energies?: 1 | 2;
  /** Which anomalies to insert (default none); a number draws that many kinds at random. */
  readonly anomalies?: readonly AnomalyKind[] | number;
  readonly load?: LoadKind;
  readonly polarity?: Polarity;
  /** Detector value through air (default 60000) and dark offset (default 100). */
  readonly airValue?: number;
  readonly darkValue?: number;
  /** Probability of a dead or hot detector row (default 0.3). */
  readonly badRowChance?: number;
}

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface AnomalyTruth extends Box {
  readonly kind: AnomalyKind;
}

export interface Phantom {
  readonly high: Image16;
  readonly low?: Image16;
  readonly truth: readonly AnomalyTruth[];
  readonly load: LoadKind;
  /** The container's inside (cargo space) in pixels. */
  readonly cargo: Box;
  readonly airValue: number;
  readonly darkValue: number;
  readonly polarity: Polarity;
  readonly pixelPitchMm: number;
}

type Material = 'organic' | 'steel' | 'lead';
const LOW_RATIO: Record<Material, number> = { organic: 1.1, steel: 1.3, lead: 1.7 };
/** A 12.2 m (40 ft) container drawn over 90 % of the width. */
const CONTAINER_MM = 12_200;

class Canvas {
  readonly mu: Float32Array;
  readonly muLow: Float32Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.mu = new Float32Array(width * height);
    this.muLow = new Float32Array(width * height);
  }
  private put(i: number, v: number, m: Material): void {
    this.mu[i]! += v;
    this.muLow[i]! += v * LOW_RATIO[m];
  }
  rect(b: Box, v: number, m: Material): void {
    const x0 = clamp(Math.round(b.x), 0, this.width);
    const x1 = clamp(Math.round(b.x + b.width), 0, this.width);
    const y0 = clamp(Math.round(b.y), 0, this.height);
    const y1 = clamp(Math.round(b.y + b.height), 0, this.height);
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) this.put(y * this.width + x, v, m);
  }
  /** Multiply what is already there (voids: part of the load is missing). */
  scale(b: Box, factor: number): void {
    const x1 = Math.min(this.width, Math.round(b.x + b.width));
    const y1 = Math.min(this.height, Math.round(b.y + b.height));
    for (let y = Math.max(0, Math.round(b.y)); y < y1; y++)
      for (let x = Math.max(0, Math.round(b.x)); x < x1; x++) {
        const i = y * this.width + x;
        this.mu[i]! *= factor;
        this.muLow[i]! *= factor;
      }
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, v: number, m: Material): void {
    for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(this.height - 1, Math.ceil(cy + ry)); y++)
      for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(this.width - 1, Math.ceil(cx + rx)); x++) {
        const u = (x - cx) / rx;
        const w = (y - cy) / ry;
        if (u * u + w * w <= 1) this.put(y * this.width + x, v, m);
      }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function drawContainer(c: Canvas, rng: Rng, cargo: Box): void {
  const { width: W, height: H } = c;
  const wall = Math.max(2, Math.round(0.006 * W));
  const outer: Box = { x: cargo.x - wall, y: cargo.y, width: cargo.width + 2 * wall, height: cargo.height };
  c.rect(outer, 0.3, 'steel'); // both side walls, everywhere the beam crosses the container
  const period = Math.max(4, 0.011 * W);
  for (let x = Math.round(outer.x); x < outer.x + outer.width; x++) {
    const v = 0.1 * (0.5 + 0.5 * Math.sin((2 * Math.PI * (x - outer.x)) / period));
    c.rect({ x, y: outer.y, width: 1, height: outer.height }, v, 'steel');
  }
  const roof = Math.max(2, Math.round(0.008 * H));
  c.rect({ x: outer.x, y: outer.y - roof, width: outer.width, height: roof }, 1.2, 'steel');
  const floor = Math.max(3, Math.round(0.025 * H));
  c.rect({ x: outer.x, y: cargo.y + cargo.height, width: outer.width, height: floor }, 2.2, 'steel');
  c.rect({ x: outer.x, y: outer.y - roof, width: wall, height: outer.height + roof + floor }, 2.8, 'steel');
  c.rect(
    { x: cargo.x + cargo.width, y: outer.y - roof, width: wall, height: outer.height + roof + floor },
    2.8,
    'steel',
  );
  // Chassis beam and wheels below the floor.
  const chassisY = cargo.y + cargo.height + floor;
  c.rect({ x: outer.x, y: chassisY, width: outer.width, height: Math.round(0.03 * H) }, 1.6, 'steel');
  const r = 0.065 * H;
  const wheelY = Math.min(H - r - 1, chassisY + 0.03 * H + r * 0.8);
  const wheelXs = [outer.x + 0.1 * W, outer.x + outer.width - 0.12 * W, outer.x + outer.width - 0.2 * W];
  for (const wx of wheelXs) {
    const jitter = rng.uniform(-0.01, 0.01) * W;
    c.ellipse(wx + jitter, wheelY, r, r, 2.0, 'organic');
    c.ellipse(wx + jitter, wheelY, 0.35 * r, 0.35 * r, 2.0, 'steel');
  }
}

/** Boxes-in-a-pallet texture: a faint grid of carton walls plus slow density variation. */
function texturedBlock(c: Canvas, rng: Rng, b: Box, mu: number, m: Material): void {
  c.rect(b, mu, m);
  const cell = Math.max(3, Math.round(rng.uniform(0.015, 0.04) * c.width));
  for (let x = b.x + cell; x < b.x + b.width - 1; x += cell)
    c.rect({ x, y: b.y, width: 1, height: b.height }, 0.06 * mu, m);
  for (let y = b.y + cell; y < b.y + b.height - 1; y += cell)
    c.rect({ x: b.x, y, width: b.width, height: 1 }, 0.06 * mu, m);
}

/** Draw the load; returns the areas of even density (where voids and objects go best). */
function drawLoad(c: Canvas, rng: Rng, cargo: Box, load: LoadKind): Box[] {
  const uniform: Box[] = [];
  const W = c.width;
  if (load === 'homogeneous') {
    const fill = rng.uniform(0.55, 1) * cargo.height;
    const len = rng.uniform(0.7, 1) * cargo.width;
    const b: Box = {
      x: Math.round(cargo.x),
      y: Math.round(cargo.y + cargo.height - fill),
      width: Math.round(len),
      height: Math.round(fill),
    };
    const mu = rng.uniform(0.8, 3.2);
    c.rect(b, mu, 'organic');
    // Granular texture: ±3 % in 2×2 grains.
    for (let y = b.y; y < b.y + b.height; y += 2)
      for (let x = b.x; x < b.x + b.width; x += 2)
        c.rect({ x, y, width: 2, height: 2 }, mu * rng.uniform(-0.03, 0.03), 'organic');
    uniform.push(b);
    return uniform;
  }
  const count = load === 'sparse' ? rng.int(1, 4) : 1_000;
  let x = cargo.x + rng.uniform(0, 0.02) * W;
  for (let i = 0; i < count && x < cargo.x + cargo.width - 0.03 * W; i++) {
    const w = Math.min(rng.uniform(0.04, 0.12) * W, cargo.x + cargo.width - x);
    let yTop = cargo.y + cargo.height;
    const levels = rng.int(1, 2);
    for (let l = 0; l < levels; l++) {
      const h = rng.uniform(0.2, 0.48) * cargo.height;
      if (yTop - h < cargo.y) break;
      const mu = rng.logUniform(0.3, 4.5);
      const b: Box = {
        x: Math.round(x),
        y: Math.round(yTop - h),
        width: Math.round(w),
        height: Math.round(h),
      };
      texturedBlock(c, rng, b, mu, mu > 2.5 ? 'steel' : 'organic');
      if (mu >= 0.8 && b.width >= 0.07 * W && b.height >= 0.25 * cargo.height) uniform.push(b);
      yTop -= h + rng.uniform(0, 0.02) * cargo.height;
    }
    x += w + rng.uniform(0, 0.025) * W;
    if (load === 'sparse') x += rng.uniform(0.05, 0.2) * W;
  }
  return uniform;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function placeIn(rng: Rng, area: Box, w: number, h: number, taken: readonly Box[]): Box | null {
  for (let attempt = 0; attempt < 40; attempt++) {
    const b: Box = {
      x: Math.round(area.x + rng.uniform(0, Math.max(0, area.width - w))),
      y: Math.round(area.y + rng.uniform(0, Math.max(0, area.height - h))),
      width: Math.round(Math.min(w, area.width)),
      height: Math.round(Math.min(h, area.height)),
    };
    if (!taken.some((t) => overlaps(t, b))) return b;
  }
  return null;
}

function drawAnomaly(
  c: Canvas,
  rng: Rng,
  kind: AnomalyKind,
  cargo: Box,
  uniform: Box[],
  taken: Box[],
): AnomalyTruth | null {
  const W = c.width;
  const H = c.height;
  const inUniform = (kind === 'void' || kind === 'object') && uniform.length > 0;
  const area = inUniform ? rng.choice(uniform) : cargo;
  const inset: Box = {
    x: area.x + 0.01 * W,
    y: area.y + 0.02 * H,
    width: area.width - 0.02 * W,
    height: area.height - 0.04 * H,
  };
  switch (kind) {
    case 'dense': {
      const b = placeIn(rng, inset, rng.uniform(0.03, 0.07) * W, rng.uniform(0.08, 0.2) * H, taken);
      if (!b) return null;
      c.rect(b, rng.uniform(7.5, 9.5), 'lead');
      return { kind, ...b };
    }
    case 'void': {
      const b = placeIn(rng, inset, rng.uniform(0.03, 0.08) * W, rng.uniform(0.08, 0.2) * H, taken);
      if (!b) return null;
      c.scale(b, rng.uniform(0.05, 0.35));
      return { kind, ...b };
    }
    case 'compartment': {
      const b = placeIn(rng, inset, rng.uniform(0.05, 0.12) * W, rng.uniform(0.15, 0.35) * H, taken);
      if (!b) return null;
      const t = Math.max(2, Math.round(0.004 * W));
      c.rect(b, rng.uniform(0.4, 1.2), 'organic');
      c.rect({ x: b.x, y: b.y, width: b.width, height: t }, 1.5, 'steel');
      c.rect({ x: b.x, y: b.y + b.height - t, width: b.width, height: t }, 1.5, 'steel');
      c.rect({ x: b.x, y: b.y, width: t, height: b.height }, 1.5, 'steel');
      c.rect({ x: b.x + b.width - t, y: b.y, width: t, height: b.height }, 1.5, 'steel');
      return { kind, ...b };
    }
    case 'object': {
      const rx = rng.uniform(0.015, 0.04) * W;
      const ry = rng.uniform(0.04, 0.1) * H;
      const b = placeIn(rng, inset, 2 * rx, 2 * ry, taken);
      if (!b) return null;
      c.ellipse(b.x + rx, b.y + ry, rx, ry, rng.uniform(1.0, 2.5), 'steel');
      return { kind, ...b };
    }
  }
}

/** Turn attenuation into detector values: photon noise, row gain, pulse variation, bad rows. */
function expose(
  rng: Rng,
  mu: Float32Array,
  W: number,
  H: number,
  air: number,
  dark: number,
  polarity: Polarity,
  badRowChance: number,
): Image16 {
  const rowGain = Array.from({ length: H }, () => 1 + rng.normal(0, 0.01));
  const colGain = Array.from({ length: W }, () => 1 + rng.normal(0, 0.005));
  if (rng.chance(badRowChance)) rowGain[rng.int(0, H - 1)] = rng.chance(0.5) ? 0 : 1.3;
  const data = new Uint16Array(W * H);
  for (let y = 0; y < H; y++) {
    const g = rowGain[y]!;
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const signal = air * Math.exp(-mu[i]!) * g * colGain[x]!;
      const v = dark + signal + rng.normal() * Math.sqrt(2 * signal + 225);
      const clipped = clamp(Math.round(v), 0, 65535);
      data[i] = polarity === 'transmission' ? clipped : 65535 - clipped;
    }
  }
  return { width: W, height: H, data };
}

/** Make one phantom scan with its ground truth. */
export function makePhantom(options: PhantomOptions): Phantom {
  const W = options.width ?? 1024;
  const H = options.height ?? 512;
  const rng = createRng(options.seed);
  const layoutRng = rng.fork('layout');
  const load = options.load ?? layoutRng.choice<LoadKind>(['pallets', 'pallets', 'homogeneous', 'sparse']);
  const cargo: Box = {
    x: Math.round(0.05 * W),
    y: Math.round(0.14 * H),
    width: Math.round(0.9 * W),
    height: Math.round(0.64 * H),
  };
  const c = new Canvas(W, H);
  drawContainer(c, layoutRng, cargo);
  const uniform = drawLoad(c, layoutRng, cargo, load);
  const requested = options.anomalies ?? [];
  const kinds =
    typeof requested === 'number'
      ? Array.from({ length: requested }, () => layoutRng.choice(ANOMALY_KINDS))
      : requested;
  const truth: AnomalyTruth[] = [];
  const taken: Box[] = [];
  for (const kind of kinds) {
    const t = drawAnomaly(c, layoutRng, kind, cargo, uniform, taken);
    if (t) {
      truth.push(t);
      // Keep anomalies apart so each truth box is scored on its own.
      taken.push({
        x: t.x - 0.02 * W,
        y: t.y - 0.02 * H,
        width: t.width + 0.04 * W,
        height: t.height + 0.04 * H,
      });
    }
  }
  const air = options.airValue ?? 60_000;
  const dark = options.darkValue ?? 100;
  const polarity = options.polarity ?? 'transmission';
  const bad = options.badRowChance ?? 0.3;
  const high = expose(rng.fork('high'), c.mu, W, H, air, dark, polarity, bad);
  const low =
    options.energies === 2
      ? expose(rng.fork('low'), c.muLow, W, H, air * 0.75, dark, polarity, bad)
      : undefined;
  return {
    high,
    ...(low ? { low } : {}),
    truth,
    load,
    cargo,
    airValue: air,
    darkValue: dark,
    polarity,
    pixelPitchMm: CONTAINER_MM / (0.9 * W),
  };
}
