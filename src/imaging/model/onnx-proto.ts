/**
 * A minimal protobuf writer for the few onnx.proto messages the project's own anomaly model
 * needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto,
 * TypeProto, OperatorSetIdProto, StringStringEntryProto). Field numbers are those of
 * onnx/onnx.proto (IR version 8). Hand-written to avoid a protobuf dependency; output is
 * byte-for-byte deterministic, so the model's sha256 is reproducible.
 */

class Writer {
  private readonly parts: Buffer[] = [];
  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      bytes.push(b);
    } while (v !== 0n);
    this.parts.push(Buffer.from(bytes));
  }
  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  int(field: number, value: number): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.parts.push(b);
    return this;
  }
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    return this;
  }
  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }
  message(field: number, value: Buffer): this {
    return this.bytes(field, value);
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: 'float' | 'int64';
  readonly values: readonly number[] | Float32Array;
}

export function encodeTensor(t: TensorSpec): Buffer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type === 'float' ? DataType.FLOAT : DataType.INT64);
  w.string(8, t.name);
  if (t.type === 'float') {
    const raw = Buffer.alloc(t.values.length * 4);
    for (let i = 0; i < t.values.length; i++) raw.writeFloatLE(t.values[i]!, i * 4);
    w.bytes(9, raw);
  } else {
    const raw = Buffer.alloc(t.values.length * 8);
    for (let i = 0; i < t.values.length; i++) raw.writeBigInt64LE(BigInt(t.values[i]!), i * 8);
    w.bytes(9, raw);
  }
  return w.finish();
}

export type AttributeValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string };

/** AttributeProto.AttributeType values. */
const ATTR_TYPE = { float: 1, int: 2, string: 3, ints: 7 } as const;

function encodeAttribute(name: string, a: AttributeValue): Buffer {
  const w = new Writer().string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'ints':
      for (const v of a.value) w.int(8, v);
      break;
  }
  return w.int(20, ATTR_TYPE[a.kind]).finish();
}

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

function encodeNode(n: NodeSpec): Buffer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [key, value] of Object.entries(n.attributes ?? {})) w.message(5, encodeAttribute(key, value));
  return w.finish();
}

/** A graph input/output: float tensor with fixed (number) or symbolic (string) dimensions. */
export interface ValueInfoSpec {
  readonly name: string;
  readonly dims: ReadonlyArray<number | string>;
}

function encodeValueInfo(v: ValueInfoSpec): Buffer {
  const shape = new Writer();
  for (const d of v.dims) {
    const dim = typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d);
    shape.message(1, dim.finish());
  }
  const tensorType = new Writer().int(1, DataType.FLOAT).message(2, shape.finish()).finish();
  const type = new Writer().message(1, tensorType).finish();
  return new Writer().string(1, v.name).message(2, type).finish();
}

export interface ModelSpec {
  readonly irVersion: number;
  readonly opset: number;
  readonly producer: string;
  readonly producerVersion: string;
  readonly graphName: string;
  readonly doc: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly inputs: readonly ValueInfoSpec[];
  readonly outputs: readonly ValueInfoSpec[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** Serialize a ModelProto. */
export function encodeModel(m: ModelSpec): Buffer {
  const g = new Writer();
  for (const n of m.nodes) g.message(1, encodeNode(n));
  g.string(2, m.graphName);
  for (const t of m.initializers) g.message(5, encodeTensor(t));
  for (const i of m.inputs) g.message(11, encodeValueInfo(i));
  for (const o of m.outputs) g.message(12, encodeValueInfo(o));
  const w = new Writer()
    .int(1, m.irVersion)
    .string(2, m.producer)
    .string(3, m.producerVersion)
    .string(6, m.doc)
    .message(7, g.finish())
    .message(8, new Writer().string(1, '').int(2, m.opset).finish());
  for (const [key, value] of Object.entries(m.metadata))
    w.message(14, new Writer().string(1, key).string(2, value).finish());
  return w.finish();
}

/** What the pipeline needs from a model file's header: IR version, opsets, metadata_props. */
export interface ModelHeader {
  readonly irVersion: number;
  readonly opsets: ReadonlyArray<{ readonly domain: string; readonly version: number }>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Iterate the top-level fields of a protobuf message; throws RangeError on a malformed buffer. */
function* fields(
  buf: Uint8Array,
): Generator<{ field: number; wire: number; value: number; bytes?: Uint8Array }> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw new RangeError('truncated varint');
      const b = buf[pos++]!;
      if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
      if (shift > 70) throw new RangeError('varint too long');
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { field, wire, value: varint() };
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new RangeError('truncated field');
      yield { field, wire, value: len, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 5) pos += 4;
    else if (wire === 1) pos += 8;
    else throw new RangeError(`unsupported wire type ${wire}`);
    if (pos > buf.length) throw new RangeError('truncated field');
  }
}

const utf8 = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('utf8') : '');

/** Read a ModelProto's header fields without parsing the graph. */
export function readModelHeader(bytes: Uint8Array): ModelHeader {
  let irVersion = 0;
  const opsets: Array<{ domain: string; version: number }> = [];
  const metadata: Record<string, string> = {};
  for (const f of fields(bytes)) {
    if (f.field === 1 && f.wire === 0) irVersion = f.value;
    else if (f.field === 8 && f.bytes) {
      let domain = '';
      let version = 0;
      for (const g of fields(f.bytes)) {
        if (g.field === 1) domain = utf8(g.bytes);
        if (g.field === 2) version = g.value;
      }
      opsets.push({ domain, version });
    } else if (f.field === 14 && f.bytes) {
      let key = '';
      let value = '';
      for (const g of fields(f.bytes)) {
        if (g.field === 1) key = utf8(g.bytes);
        if (g.field === 2) value = utf8(g.bytes);
      }
      metadata[key] = value;
    }
  }
  return { irVersion, opsets, metadata };
}
