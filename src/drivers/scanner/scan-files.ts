/**
 * Read a scan named on the command line (`rpm-gateway analyze <scan…>`): a sidecar (which names
 * its images), a DICOS file, or one or two images (high, then low energy) with default metadata.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { GatewayError } from '../../core/errors.js';
import { DEFAULT_LIMITS, openImage, scanDecoding, type DecodeLimits } from '../../imaging/decode.js';
import type { Polarity } from '../../imaging/types.js';
import { DEFAULT_ADAPTERS, type ReadScan } from './adapter.js';

export async function readScanFiles(
  paths: readonly string[],
  options: { limits?: DecodeLimits; polarity?: Polarity } = {},
): Promise<ReadScan> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const first = paths[0];
  if (first === undefined) throw new GatewayError('CLI_USAGE', 'no scan file given');
  const adapter = DEFAULT_ADAPTERS.find((a) => a.claims(basename(first)));
  if (adapter) return adapter.read(dirname(first), basename(first), limits);
  if (paths.length > 2)
    throw new GatewayError('CLI_USAGE', 'give a sidecar, a DICOS file, or one or two images (high, low)');
  const t0 = performance.now();
  const read = async (p: string) => {
    try {
      return await openImage(await readFile(p), basename(p), limits);
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError(
        'INPUT_UNREADABLE',
        `cannot read ${p}: ${(error as Error).message}`,
        { path: p },
        { cause: error },
      );
    }
  };
  const high = await read(first);
  const low = paths[1] !== undefined ? await read(paths[1]) : undefined;
  const scanId = basename(first).replace(/\.[^.]+$/, '');
  return {
    scan: {
      meta: { scanId, polarity: options.polarity ?? 'transmission' },
      high: high.image,
      ...(low ? { low: low.image } : {}),
      sources: [...paths],
      decoding: scanDecoding(low ? [high, low] : [high], t0),
    },
    decodeMs: performance.now() - t0,
    files: [...paths],
  };
}
