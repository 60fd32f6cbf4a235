/**
 * The classifier as an ONNX graph (opset 13, IR 7) and back:
 *
 *   features[batch, n] → Sub(mean) → Div(std) → MatMul(W1) → Add(b1) → Tanh
 *                      → MatMul(W2) → Add(b2) → Softmax(axis −1) → probabilities[batch, 4]
 *
 * Standardization lives in the graph, so the model file alone turns a feature vector into
 * probabilities. Metadata records the category order, the feature names and version, and the
 * training seed. `readMlp` reads the initializers back (the synchronous mirror uses them), and
 * refuses a file whose graph is not this one.
 *
 * The protobuf writer is the imaging pipeline's (src/imaging/model/onnx-proto.ts): one writer
 * for the project's ONNX models. Only the small initializer reader below is this module's own.
 */
import { encodeModel, readModelHeader } from '../../imaging/model/onnx-proto.js';
import { CATEGORIES, FEATURE_NAMES, FEATURE_VERSION } from './feature-vector.js';
import type { MlpParams } from './mlp.js';

export const OPSET = 13;
export const IR_VERSION = 7;
export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'probabilities';
const OPS = ['Sub', 'Div', 'MatMul', 'Add', 'Tanh', 'MatMul', 'Add', 'Softmax'] as const;

export function mlpToOnnx(p: MlpParams, meta: { seed: string; producerVersion: string }): Uint8Array {
  return encodeModel({
    irVersion: IR_VERSION,
    opset: OPSET,
    producer: 'rpm-gateway train-classifier',
    producerVersion: meta.producerVersion,
    doc: 'Refines the alarm adjudication category probabilities (SPEC §3 step 4).',
    graphName: 'category_refiner',
    nodes: [
      { op: 'Sub', inputs: [INPUT_NAME, 'mean'], outputs: ['centred'], name: 'standardize_sub' },
      { op: 'Div', inputs: ['centred', 'std'], outputs: ['z'], name: 'standardize_div' },
      { op: 'MatMul', inputs: ['z', 'W1'], outputs: ['h_lin'], name: 'dense1' },
      { op: 'Add', inputs: ['h_lin', 'b1'], outputs: ['h_pre'], name: 'dense1_bias' },
      { op: 'Tanh', inputs: ['h_pre'], outputs: ['h'], name: 'act1' },
      { op: 'MatMul', inputs: ['h', 'W2'], outputs: ['o_lin'], name: 'dense2' },
      { op: 'Add', inputs: ['o_lin', 'b2'], outputs: ['logits'], name: 'dense2_bias' },
      {
        op: 'Softmax',
        inputs: ['logits'],
        outputs: [OUTPUT_NAME],
        name: 'softmax',
        attributes: { axis: { kind: 'int', value: -1 } },
      },
    ],
    initializers: [
      { name: 'mean', dims: [p.inputs], type: 'float', values: p.mean },
      { name: 'std', dims: [p.inputs], type: 'float', values: p.std },
      { name: 'W1', dims: [p.inputs, p.hidden], type: 'float', values: p.w1 },
      { name: 'b1', dims: [p.hidden], type: 'float', values: p.b1 },
      { name: 'W2', dims: [p.hidden, p.outputs], type: 'float', values: p.w2 },
      { name: 'b2', dims: [p.outputs], type: 'float', values: p.b2 },
    ],
    inputs: [{ name: INPUT_NAME, dims: ['batch', p.inputs] }],
    outputs: [{ name: OUTPUT_NAME, dims: ['batch', p.outputs] }],
    metadata: {
      categories: CATEGORIES.join(','),
      features: FEATURE_NAMES.join(','),
      feature_version: String(FEATURE_VERSION),
      training_seed: meta.seed,
    },
  });
}

/** Read the parameters of a graph written by {@link mlpToOnnx}; throws on any other graph. */
export function readMlp(bytes: Uint8Array): MlpParams {
  const model = fields(bytes);
  const graph = model.get(7)?.[0];
  if (!(graph instanceof Uint8Array)) throw new Error('no graph in the model');
  const g = fields(graph);
  const ops = (g.get(1) ?? []).map((n) => text(fields(n as Uint8Array).get(4)?.[0]));
  if (ops.join(',') !== OPS.join(','))
    throw new Error(`unexpected graph: ${ops.join(' → ')} (expected ${OPS.join(' → ')})`);
  const tensors = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const t of g.get(5) ?? []) {
    const f = fields(t as Uint8Array);
    const dims = (f.get(1) ?? []).flatMap((d) => (d instanceof Uint8Array ? packed(d) : [d]));
    if (f.get(2)?.[0] !== 1) throw new Error('initializer is not float32');
    const raw = f.get(9)?.[0];
    if (!(raw instanceof Uint8Array)) throw new Error('initializer without raw_data');
    const data = new Float32Array(raw.length / 4);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
    tensors.set(text(f.get(8)?.[0]), { dims, data });
  }
  const get = (name: string): { dims: number[]; data: Float32Array } => {
    const t = tensors.get(name);
    if (!t) throw new Error(`initializer ${name} missing`);
    return t;
  };
  const w1 = get('W1');
  const w2 = get('W2');
  const [inputs, hidden] = w1.dims as [number, number];
  const outputs = w2.dims[1]!;
  return {
    inputs,
    hidden,
    outputs,
    mean: get('mean').data,
    std: get('std').data,
    w1: w1.data,
    b1: get('b1').data,
    w2: w2.data,
    b2: get('b2').data,
  };
}

/** The key → value metadata of a model. */
export function readMetadata(bytes: Uint8Array): Record<string, string> {
  return { ...readModelHeader(bytes).metadata };
}

/** Protobuf fields by number: varints as numbers, length-delimited as bytes, fixed32 as bytes. */
function fields(b: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const out = new Map<number, (number | Uint8Array)[]>();
  let at = 0;
  const varint = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (at >= b.length) throw new Error('truncated varint');
      const byte = b[at++]!;
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return v;
      scale *= 128;
    }
  };
  while (at < b.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    let value: number | Uint8Array;
    switch (key % 8) {
      case 0:
        value = varint();
        break;
      case 2: {
        const len = varint();
        if (at + len > b.length) throw new Error('truncated field');
        value = b.subarray(at, at + len);
        at += len;
        break;
      }
      case 5:
        value = b.subarray(at, at + 4);
        at += 4;
        break;
      case 1:
        value = b.subarray(at, at + 8);
        at += 8;
        break;
      default:
        throw new Error(`unsupported wire type ${key % 8}`);
    }
    const list = out.get(field);
    if (list) list.push(value);
    else out.set(field, [value]);
  }
  return out;
}

function packed(b: Uint8Array): number[] {
  const out: number[] = [];
  let v = 0;
  let scale = 1;
  for (const byte of b) {
    v += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      out.push(v);
      v = 0;
      scale = 1;
    } else scale *= 128;
  }
  return out;
}

function text(v: number | Uint8Array | undefined): string {
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : '';
}
