/**
 * Scan delivery formats behind one adapter interface (SPEC §1.3): PNG/TIFF per energy with a JSON
 * sidecar, DICOS DX files — and UFF later, when a specification and sample files are at hand
 * (an adapter that claims `*.uff` is all it takes). The inbox, the upload route and `analyze`
 * all read scans through these adapters.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayError } from '../../core/errors.js';
import { decodeImage, openImage, scanDecoding, type DecodeLimits } from '../../imaging/decode.js';
import { parseSidecar } from '../../imaging/sidecar.js';
import type { Scan } from '../../imaging/types.js';

export interface ReadScan {
  /** Its images may still be decoding (`scan.decoding`): a failure then shows there. */
  readonly scan: Scan;
  /** Time to read and decode the images, or to open them when they are decoded as a stream. */
  readonly decodeMs: number;
  /** Every file the scan consumed (trigger first). */
  readonly files: readonly string[];
}

export interface ScanFormatAdapter {
  readonly id: string;
  /** Whether this file, when it appears, announces a scan. */
  claims(fileName: string): boolean;
  /** Other files the scan needs (read from the trigger); throws SIDECAR_INVALID. */
  companions(dir: string, trigger: string): Promise<readonly string[]>;
  read(dir: string, trigger: string, limits: DecodeLimits): Promise<ReadScan>;
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new GatewayError(
      'INPUT_UNREADABLE',
      `cannot read ${path}: ${(error as Error).message}`,
      { path },
      { cause: error },
    );
  }
}

export const IMAGE_EXTENSIONS = ['.png', '.tif', '.tiff'] as const;

/** PNG/TIFF per energy plus a `<scan>.json` sidecar naming them. */
export const sidecarAdapter: ScanFormatAdapter = {
  id: 'png-tiff-sidecar',
  claims: (name) => name.toLowerCase().endsWith('.json') && !name.endsWith('.rejected.json'),
  async companions(dir, trigger) {
    const { files } = parseSidecar((await readBytes(join(dir, trigger))).toString('utf8'), trigger);
    return files.low !== undefined ? [files.high, files.low] : [files.high];
  },
  async read(dir, trigger, limits) {
    const { meta, files } = parseSidecar((await readBytes(join(dir, trigger))).toString('utf8'), trigger);
    const t0 = performance.now();
    // Headers checked here; a streamed PNG goes on decoding while the analysis starts.
    const high = await openImage(await readBytes(join(dir, files.high)), files.high, limits);
    const low =
      files.low !== undefined
        ? await openImage(await readBytes(join(dir, files.low)), files.low, limits)
        : undefined;
    const decodeMs = performance.now() - t0;
    const names = [trigger, files.high, ...(files.low !== undefined ? [files.low] : [])];
    const decoding = scanDecoding(low ? [high, low] : [high], t0);
    return {
      scan: { meta, high: high.image, ...(low ? { low: low.image } : {}), sources: names, decoding },
      decodeMs,
      files: names,
    };
  },
};

/** One DICOS DX file per scan (one energy). */
export const dicosAdapter: ScanFormatAdapter = {
  id: 'dicos-dx',
  claims: (name) => /\.(dcm|dcs|dicos)$/i.test(name),
  companions: () => Promise.resolve([]),
  async read(dir, trigger, limits) {
    const t0 = performance.now();
    const decoded = await decodeImage(await readBytes(join(dir, trigger)), trigger, limits);
    const decodeMs = performance.now() - t0;
    const scanId = decoded.meta?.scanId ?? trigger.replace(/\.[^.]+$/, '');
    return {
      scan: {
        meta: { scanId, polarity: decoded.meta?.polarity ?? 'transmission' },
        high: decoded.image,
        sources: [trigger],
      },
      decodeMs,
      files: [trigger],
    };
  },
};

export const DEFAULT_ADAPTERS: readonly ScanFormatAdapter[] = [sidecarAdapter, dicosAdapter];
