/**
 * Loading and running the trained classifier: the one module of src/alarm that touches
 * onnxruntime-node and the file system (STYLE.md: "the ONNX runtime behind one module").
 *
 * - The model file is checked against the sha256 recorded in its model card (the JSON beside
 *   it) before it is used: a stale or tampered model is refused with CLASSIFIER_MODEL_INVALID,
 *   never silently run.
 * - `OnnxCategoryRefiner` runs the graph with onnxruntime's async `session.run`. Note that in
 *   onnxruntime-node the async run defers the native call with setImmediate and then runs it on
 *   the event-loop thread: it yields before inference, it does not run beside it. For this
 *   model (23 inputs, 12 hidden units) that is a few microseconds; see the doc for measurements.
 * - `MirrorCategoryRefiner` evaluates the very same weights (read from the same .onnx bytes) in
 *   plain TypeScript, synchronously, for the synchronous pipeline hook; a test holds the two
 *   within 1e-5 of each other on every held-out vector.
 * - Either refiner returns the model's probabilities; the adjudication applies the safety rules
 *   after it (neutron → INVESTIGATE, localized excess in cargo → INVESTIGATE, in doubt →
 *   INVESTIGATE), whatever the model says.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { GatewayError } from '../../core/errors.js';
import type { ProfileFeatures } from '../features.js';
import { CATEGORIES, FEATURE_COUNT, FEATURE_NAMES, featureVector } from './feature-vector.js';
import { forward, type MlpParams } from './mlp.js';
import { INPUT_NAME, OUTPUT_NAME, readMetadata, readMlp } from './onnx-model.js';
import type { AsyncCategoryRefiner, CategoryProbabilities, CategoryRefiner } from './refiner.js';

export interface LoadedModel {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Read a model and check it: its sha256 against `expectedSha256`, else against the `sha256`
 * of the model card `<name>.json` beside it; its metadata against this build's feature list.
 */
export async function loadModelFile(path: string, expectedSha256?: string): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new GatewayError(
      'CLASSIFIER_MODEL_INVALID',
      `cannot read the classifier model ${path}`,
      { path },
      { cause },
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let expected = expectedSha256;
  if (expected === undefined) {
    const cardPath = path.replace(/\.onnx$/, '') + '.json';
    try {
      expected = (JSON.parse(await readFile(cardPath, 'utf8')) as { sha256?: string }).sha256;
    } catch (cause) {
      throw new GatewayError(
        'CLASSIFIER_MODEL_INVALID',
        `the classifier model card ${cardPath} is missing or not JSON: cannot check ${path}`,
        { path, cardPath },
        { cause },
      );
    }
  }
  if (sha256 !== expected)
    throw new GatewayError(
      'CLASSIFIER_MODEL_INVALID',
      `classifier model ${path} has sha256 ${sha256}, its card says ${String(expected)}: retrain or restore it`,
      { path, sha256, expected },
    );
  const metadata = readMetadata(bytes);
  if (metadata['features'] !== FEATURE_NAMES.join(',') || metadata['categories'] !== CATEGORIES.join(','))
    throw new GatewayError(
      'CLASSIFIER_MODEL_INVALID',
      `classifier model ${path} was trained on other features or categories than this build computes: retrain it`,
      { path, features: metadata['features'], categories: metadata['categories'] },
    );
  return { path, bytes, sha256, metadata };
}

/** The classifier on onnxruntime-node (async `session.run`). */
export class OnnxCategoryRefiner implements AsyncCategoryRefiner {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly model: LoadedModel,
  ) {}

  static async load(path: string, expectedSha256?: string): Promise<OnnxCategoryRefiner> {
    const model = await loadModelFile(path, expectedSha256);
    return OnnxCategoryRefiner.fromModel(model);
  }

  static async fromModel(model: LoadedModel): Promise<OnnxCategoryRefiner> {
    // One thread each: the model is tiny, and the gateway shares its cores with the lanes.
    const session = await ort.InferenceSession.create(model.bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    return new OnnxCategoryRefiner(session, model);
  }

  /** Probabilities (CATEGORIES order) for a batch of feature vectors. */
  async classify(vectors: readonly Float32Array[]): Promise<Float32Array[]> {
    const n = vectors.length;
    const data = new Float32Array(n * FEATURE_COUNT);
    vectors.forEach((v, i) => data.set(v, i * FEATURE_COUNT));
    const result = await this.session.run({
      [INPUT_NAME]: new ort.Tensor('float32', data, [n, FEATURE_COUNT]),
    });
    const out = result[OUTPUT_NAME]?.data;
    if (!(out instanceof Float32Array)) throw new Error('classifier returned no float32 probabilities');
    const k = CATEGORIES.length;
    return Array.from({ length: n }, (_, i) => out.slice(i * k, (i + 1) * k));
  }

  async refine(
    features: ProfileFeatures,
    probabilities: CategoryProbabilities,
  ): Promise<CategoryProbabilities> {
    const [p] = await this.classify([featureVector(features, probabilities)]);
    return toRecord(p!);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** The same weights, evaluated synchronously in TypeScript (for the synchronous pipeline hook). */
export class MirrorCategoryRefiner implements CategoryRefiner {
  readonly params: MlpParams;

  constructor(readonly model: LoadedModel) {
    this.params = readMlp(model.bytes);
    if (this.params.inputs !== FEATURE_COUNT || this.params.outputs !== CATEGORIES.length)
      throw new GatewayError(
        'CLASSIFIER_MODEL_INVALID',
        `classifier model ${model.path} has the wrong shape`,
        {
          inputs: this.params.inputs,
          outputs: this.params.outputs,
        },
      );
  }

  refine(features: ProfileFeatures, probabilities: CategoryProbabilities): CategoryProbabilities {
    return toRecord(forward(this.params, featureVector(features, probabilities)));
  }
}

function toRecord(p: ArrayLike<number>): CategoryProbabilities {
  return { background: p[0]!, NORM: p[1]!, medical: p[2]!, threat: p[3]! };
}
