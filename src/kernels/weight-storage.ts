/**
 * How weight matrices [rows][cols] (conv HWIO as [K][COUT], dense [IN][OUT]) are stored on the GPU:
 *  - 'f32': as they are;
 *  - 'f16': halves, products still summed in f32;
 *  - 'int8': symmetric per-column (per output channel) quantization q = round(w / s), s = max|w| / 127,
 *    four q per u32 read as integers (int8x4, shaders/weights_vec4.wgsl: shifts with sign extension), and
 *    the kernel's epilogue multiplies each output channel's f32 sum by s.
 * shaders/weights_vec4.wgsl reads the column layout (weight4(i): a row's 4 consecutive columns) in
 * all three; the simd conv packs its own layout (src/kernels/conv-simd.ts) from the same values.
 */
import type { QuantizedWeights } from '../ir/tensor.js';
import { packHalves } from '../util/half.js';
import { padColumns } from './dispatch.js';

export type WeightStorage = 'f32' | 'f16' | 'int8';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['f32', 'f16', 'int8'];

/** Whether `value` names a weight storage (a precision): the one check the API, the CLI and the loaders share. */
export const isWeightStorage = (value: unknown): value is WeightStorage =>
  WEIGHT_STORAGES.includes(value as WeightStorage);

export type { QuantizedWeights };

/** Symmetric per-column int8 quantization of [rows][cols] (round to nearest; an all-zero column gets scale 0). */
export function quantizeColumns(weights: Float32Array, rows: number, cols: number): QuantizedWeights {
  if (weights.length !== rows * cols)
    throw new Error(`quantizeColumns: ${weights.length} values for [${rows}][${cols}]`);
  const max = new Float64Array(cols);
  for (let i = 0; i < weights.length; i++) max[i % cols] = Math.max(max[i % cols]!, Math.abs(weights[i]!));
  const scales = Float32Array.from(max, (m) => m / 127);
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const s = scales[i % cols]!;
    values[i] = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(weights[i]! / s)));
  }
  return { values, scales };
}

const quantizedAtLoad = new WeakMap<Float32Array, QuantizedWeights>();

/** A layer's weights as int8: the ones it was loaded with (an int8 file), else quantized now (once per weights array).
 * */
export function int8Weights(
  layer: { weights: Float32Array; quantized?: QuantizedWeights },
  rows: number,
  cols: number,
): QuantizedWeights {
  if (layer.quantized) return layer.quantized;
  let q = quantizedAtLoad.get(layer.weights);
  if (!q) quantizedAtLoad.set(layer.weights, (q = quantizeColumns(layer.weights, rows, cols)));
  return q;
}

/** The WGSL element type of the column layout in each storage (W_T of shaders/weights_vec4.wgsl). */
export const COLUMN_ELEMENT: Record<WeightStorage, string> = { f32: 'vec4<f32>', f16: 'vec2<u32>', int8: 'u32' };

/** [rows][cols] in the column layout: [rows][ceil(cols / 4)] groups of 4 columns, zero padded. */
export function packColumns(
  storage: WeightStorage,
  layer: { weights: Float32Array; quantized?: QuantizedWeights },
  rows: number,
  cols: number,
): Float32Array | Uint32Array {
  if (storage === 'f32') return padColumns(layer.weights, rows, cols);
  if (storage === 'f16') {
    const padded = padColumns(layer.weights, rows, cols);
    const out = new Uint32Array(padded.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = packHalves(padded[2 * i]!, padded[2 * i + 1]!);
    return out;
  }
  const { values } = int8Weights(layer, rows, cols);
  const nv = Math.ceil(cols / 4);
  const out = new Uint32Array(rows * nv);
  const at = (r: number, c: number) => (c < cols ? values[r * cols + c]! : 0);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < nv; n++)
      out[r * nv + n] = packInt8x4(at(r, 4 * n), at(r, 4 * n + 1), at(r, 4 * n + 2), at(r, 4 * n + 3));
  }
  return out;
}

/** Four int8 values as one u32, the first in the low byte (what int8x4 reads as .x). */
export function packInt8x4(a: number, b: number, c: number, d: number): number {
  return ((a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | ((d & 0xff) << 24)) >>> 0;
}

/** The per-column factor the epilogue applies to int8 sums of q: s, zero padded to vec4s. */
export function epilogueScales(
  layer: { weights: Float32Array; quantized?: QuantizedWeights },
  rows: number,
  cols: number,
): Float32Array {
  const { scales } = int8Weights(layer, rows, cols);
  return padColumns(scales, 1, cols);
}
