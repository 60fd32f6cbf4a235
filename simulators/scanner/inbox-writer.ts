/**
 * The simulated scanner workstation's file drop (SPEC §1.3): images per energy, then the JSON
 * sidecar, each written to a hidden temp name and renamed (atomic on one file system), so the
 * inbox never sees a half file under its final name. The ground truth goes beside it in
 * `<scan>.truth.json` (not a sidecar: the inbox ignores `*.truth.json`), and DICOS DX files can
 * be written instead of PNG/TIFF.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeImage16 } from '../../src/imaging/decode.js';
import { encodeDicosDx } from './dicos-writer.js';
import type { Phantom } from './phantom.js';

export type DropFormat = 'png' | 'tiff' | 'dicos';

export interface DropOptions {
  readonly scanId: string;
  readonly lane?: string;
  readonly time?: number;
  readonly format?: DropFormat;
  /** Write ground truth beside the scan (default true). */
  readonly truth?: boolean;
}

export async function writeAtomic(dir: string, name: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, join(dir, name));
}

/** Drop one scan into `dir`; returns the names written (trigger last). */
export async function dropScan(dir: string, p: Phantom, o: DropOptions): Promise<string[]> {
  const format = o.format ?? 'png';
  const written: string[] = [];
  if (o.truth ?? true) {
    await writeAtomic(
      dir,
      `${o.scanId}.truth.json`,
      JSON.stringify({ scanId: o.scanId, load: p.load, cargo: p.cargo, anomalies: p.truth }, null, 2),
    );
  }
  if (format === 'dicos') {
    const name = `${o.scanId}.dcm`;
    await writeAtomic(
      dir,
      name,
      encodeDicosDx(p.high, { sopInstanceUid: `2.25.${Date.now()}`, polarity: p.polarity }),
    );
    return [name];
  }
  const ext = format === 'png' ? 'png' : 'tif';
  const files: { high: string; low?: string } = { high: `${o.scanId}-high.${ext}` };
  await writeAtomic(dir, files.high, await encodeImage16(p.high, format));
  written.push(files.high);
  if (p.low) {
    files.low = `${o.scanId}-low.${ext}`;
    await writeAtomic(dir, files.low, await encodeImage16(p.low, format));
    written.push(files.low);
  }
  const sidecar = {
    scanId: o.scanId,
    ...(o.lane !== undefined ? { lane: o.lane } : {}),
    time: new Date(o.time ?? Date.now()).toISOString(),
    files,
    polarity: p.polarity,
    airValue: p.airValue,
    darkValue: p.darkValue,
    pixelPitchMm: Math.round(p.pixelPitchMm * 100) / 100,
    energiesMv: p.low ? { high: 6, low: 3.5 } : { high: 6 },
  };
  await writeAtomic(dir, `${o.scanId}.json`, JSON.stringify(sidecar, null, 2));
  written.push(`${o.scanId}.json`);
  return written;
}
