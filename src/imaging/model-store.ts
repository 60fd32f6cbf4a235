/**
 * Where the imaging model comes from: a user-supplied ONNX file (any model meeting the contract
 * in docs/imaging.md), or the project's default model in `models/`, built on first use from the
 * simulator's normal phantoms and cached there (written atomically). The default model's
 * expected sha256 and opset are recorded in `models/xray-anomaly-v1.json`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayError } from '../core/errors.js';

export const DEFAULT_MODEL_NAME = 'xray-anomaly-v1';

/** The package root (the folder with package.json), from src/ or dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export function defaultModelPath(): string {
  return join(packageRoot(), 'models', `${DEFAULT_MODEL_NAME}.onnx`);
}

export interface ModelManifest {
  readonly id: string;
  readonly sha256: string;
  readonly opset: number;
  readonly generator: string;
}

export function readManifest(): ModelManifest | null {
  const file = join(packageRoot(), 'models', `${DEFAULT_MODEL_NAME}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ModelManifest) : null;
}

/** Read a model file, or the default model (building and caching it with `build` when missing). */
export async function loadModel(path: string | undefined, build?: () => Uint8Array): Promise<Uint8Array> {
  const file = path ?? defaultModelPath();
  try {
    return await readFile(file);
  } catch (error) {
    if (path !== undefined || build === undefined) {
      throw new GatewayError(
        'MODEL_INVALID',
        `no model at ${file}: ${(error as Error).message}`,
        { file },
        { cause: error },
      );
    }
  }
  const bytes = build();
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
  return bytes;
}
