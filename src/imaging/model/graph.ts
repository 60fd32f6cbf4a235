/**
 * The anomaly model as an ONNX graph (opset 17): patch statistics by AveragePool, texture by a
 * Conv with principal-component filters, a Gaussian-mixture head as a 1 × 1 Conv + square +
 * sum, min over components, and the calibration. Input `image` [N, 1, 512, 512] (model input
 * values: optical depth / 10), output `score` [N, 1, 64, 64] (1.0 = region threshold).
 */
import {
  CONTEXT_CELLS,
  CONTEXT_PAD,
  FEATURES,
  INPUT_NAME,
  IR_VERSION,
  OPSET,
  OUTPUT_NAME,
  STRIDE,
  TEXTURE_COMPONENTS,
  TILE,
  VAR_EPS,
  WINDOW,
  WINDOW_PAD,
  Z_FLOOR,
} from './architecture.js';
import type { Mixture } from './gmm.js';
import { encodeModel, type AttributeValue, type NodeSpec, type TensorSpec } from './onnx-proto.js';

export interface ModelParameters {
  readonly filters: readonly Float64Array[];
  readonly mixture: Mixture;
  /** Raw score of a typical normal cell, and raw score at the region threshold. */
  readonly reference: number;
  readonly threshold: number;
  readonly metadata: Readonly<Record<string, string>>;
}

const ints = (value: number[]): AttributeValue => ({ kind: 'ints', value });
const int = (value: number): AttributeValue => ({ kind: 'int', value });

function scalar(name: string, value: number): TensorSpec {
  return { name, dims: [], type: 'float', values: [value] };
}

export function buildModelBytes(p: ModelParameters): Buffer {
  const K = p.mixture.components.length;
  const F = FEATURES;
  const cells = TILE / STRIDE;
  const nodes: NodeSpec[] = [];
  let id = 0;
  const op = (type: string, inputs: string[], attributes?: Record<string, AttributeValue>): string => {
    const out = `${type.toLowerCase()}_${id++}`;
    nodes.push({ op: type, inputs, outputs: [out], name: out, ...(attributes ? { attributes } : {}) });
    return out;
  };
  const pool = (x: string, k: number, s: number, pad: number) =>
    op('AveragePool', [x], {
      kernel_shape: ints([k, k]),
      strides: ints([s, s]),
      pads: ints([pad, pad, pad, pad]),
      count_include_pad: int(0),
    });
  const x = INPUT_NAME;
  const m1 = pool(x, WINDOW, STRIDE, WINDOW_PAD);
  const q1 = pool(op('Mul', [x, x]), WINDOW, STRIDE, WINDOW_PAD);
  const m1sq = op('Mul', [m1, m1]);
  const v1 = op('Relu', [op('Sub', [q1, m1sq])]);
  const f1 = op('Log', [op('Add', [v1, 'var_eps'])]);
  const m2 = pool(m1, CONTEXT_CELLS, 1, CONTEXT_PAD);
  const q2 = pool(m1sq, CONTEXT_CELLS, 1, CONTEXT_PAD);
  const v2 = op('Relu', [op('Sub', [q2, op('Mul', [m2, m2])])]);
  const f3 = op('Log', [op('Add', [v2, 'var_eps'])]);
  const z = op('Div', [op('Sub', [m1, m2]), op('Sqrt', [op('Add', [v2, 'z_floor'])])]);
  const tex = op('Conv', [x, 'texture_filters'], {
    kernel_shape: ints([WINDOW, WINDOW]),
    strides: ints([STRIDE, STRIDE]),
    pads: ints([WINDOW_PAD, WINDOW_PAD, WINDOW_PAD, WINDOW_PAD]),
  });
  const feat = op('Concat', [m1, f1, m2, f3, z, tex], { axis: int(1) });
  const proj = op('Conv', [feat, 'head_weight', 'head_bias'], { kernel_shape: ints([1, 1]) });
  const sq = op('Mul', [proj, proj]);
  const grouped = op('Reshape', [sq, 'shape_group']);
  const maha = op('ReduceSum', [grouped, 'axis_feature'], { keepdims: int(0) });
  const nll = op('Add', [maha, 'head_offset']);
  const best = op('ReduceMin', [nll], { axes: ints([1]), keepdims: int(1) });
  const calibrated = op('Mul', [op('Sub', [best, 'score_reference']), 'score_inv_span']);
  nodes.push({
    op: 'Reshape',
    inputs: [calibrated, 'shape_out'],
    outputs: [OUTPUT_NAME],
    name: 'reshape_out',
  });

  const texture = new Float32Array(TEXTURE_COMPONENTS * WINDOW * WINDOW);
  p.filters.forEach((f, k) => texture.set(f, k * WINDOW * WINDOW));
  const headW = new Float32Array(K * F * F);
  const headB = new Float32Array(K * F);
  p.mixture.components.forEach((c, k) => {
    for (let r = 0; r < F; r++) {
      let bias = 0;
      for (let q = 0; q < F; q++) {
        const w = c.whiten[r * F + q]!;
        headW[(k * F + r) * F + q] = w;
        bias -= w * c.mean[q]!;
      }
      headB[k * F + r] = bias;
    }
  });
  const initializers: TensorSpec[] = [
    scalar('var_eps', VAR_EPS),
    scalar('z_floor', Z_FLOOR),
    {
      name: 'texture_filters',
      dims: [TEXTURE_COMPONENTS, 1, WINDOW, WINDOW],
      type: 'float',
      values: texture,
    },
    { name: 'head_weight', dims: [K * F, F, 1, 1], type: 'float', values: headW },
    { name: 'head_bias', dims: [K * F], type: 'float', values: headB },
    { name: 'shape_group', dims: [4], type: 'int64', values: [0, K, F, cells * cells] },
    { name: 'axis_feature', dims: [1], type: 'int64', values: [2] },
    {
      name: 'head_offset',
      dims: [1, K, 1],
      type: 'float',
      values: p.mixture.components.map((c) => c.offset),
    },
    scalar('score_reference', p.reference),
    scalar('score_inv_span', 1 / (p.threshold - p.reference)),
    { name: 'shape_out', dims: [4], type: 'int64', values: [0, 1, cells, cells] },
  ];
  return encodeModel({
    irVersion: IR_VERSION,
    opset: OPSET,
    producer: 'rpm-gateway',
    producerVersion: '1',
    graphName: 'xray_patch_gmm',
    doc: 'Cargo radiograph anomaly score: patch statistics + PCA texture, Gaussian mixture NLL, calibrated (1.0 = threshold).',
    nodes,
    initializers,
    inputs: [{ name: INPUT_NAME, dims: ['N', 1, TILE, TILE] }],
    outputs: [{ name: OUTPUT_NAME, dims: ['N', 1, cells, cells] }],
    metadata: p.metadata,
  });
}
