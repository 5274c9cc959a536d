/**
 * TF.js weight manifests: the entries of `weightsManifest[].weights` and the bytes each one takes in the
 * shards, unquantized float32 or quantized as tensorflowjs_converter writes them: `quantization` with
 * dtype uint8 or uint16 (affine: value = q * scale + min) or float16 (IEEE halves). Decoding follows
 * tfjs-core's io.decodeWeights; a malformed entry is a ModelFormatError naming the weight.
 */
import { ModelFormatError } from '../errors.js';
import { halfToFloat } from '../util/half.js';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

interface Quantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale: number;
  min: number;
}

const QUANTIZED_BYTES = { uint8: 1, uint16: 2, float16: 2 } as const;

/** The entry's quantization, checked (undefined for plain float32). */
function quantizationOf(w: WeightSpec, where: string): Quantization | undefined {
  if (w.quantization === undefined) return undefined;
  const q = w.quantization as { dtype?: unknown; scale?: unknown; min?: unknown; original_dtype?: unknown };
  const bad = (why: string): never => {
    throw new ModelFormatError(
      `${where}: weight ${w.name} has a bad quantization ${JSON.stringify(w.quantization)}: ${why}`,
    );
  };
  if (typeof q !== 'object' || q === null) return bad('not an object');
  if (q.dtype !== 'uint8' && q.dtype !== 'uint16' && q.dtype !== 'float16')
    return bad('dtype must be uint8, uint16 or float16');
  if (q.original_dtype !== undefined && q.original_dtype !== 'float32')
    return bad('only float32 weights are supported');
  if (q.dtype === 'float16') return { dtype: q.dtype, scale: 1, min: 0 };
  if (typeof q.scale !== 'number' || !Number.isFinite(q.scale) || q.scale < 0)
    return bad('uint8 and uint16 need a finite scale >= 0');
  if (typeof q.min !== 'number' || !Number.isFinite(q.min)) return bad('uint8 and uint16 need a finite min');
  return { dtype: q.dtype, scale: q.scale, min: q.min };
}

/** Bytes the entry takes in its group's shards; checks its dtype, shape and quantization. */
export function weightBytes(w: WeightSpec, where: string): number {
  if (w.dtype !== 'float32')
    throw new ModelFormatError(`${where}: weight ${w.name} has dtype ${w.dtype}; only float32 is supported`);
  if (!Array.isArray(w.shape) || w.shape.some((d) => !(Number.isInteger(d) && d >= 0)))
    throw new ModelFormatError(`${where}: weight ${w.name} has a bad shape ${JSON.stringify(w.shape)}`);
  const q = quantizationOf(w, where);
  return w.shape.reduce((a, b) => a * b, 1) * (q ? QUANTIZED_BYTES[q.dtype] : 4);
}

/** The entry's values as float32, from its bytes (exactly weightBytes of them, little-endian). */
export function decodeWeight(w: WeightSpec, bytes: Uint8Array, where: string): Float32Array {
  const q = quantizationOf(w, where);
  const n = w.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (!q) {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (q.dtype === 'float16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else if (q.dtype === 'uint8') {
    for (let i = 0; i < n; i++) out[i] = bytes[i]! * q.scale + q.min;
  } else {
    for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true) * q.scale + q.min;
  }
  return out;
}
