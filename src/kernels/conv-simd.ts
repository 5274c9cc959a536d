/**
 * Generates the unrolled statements of shaders/conv_simd.wgsl for R pixels x C4 vec4 channel groups per
 * invocation and subgroup size SG. WGSL has no compile-time loops and subgroupBroadcast needs a constant
 * lane, so the unrolling is done here, as plain text that reads like the loops it replaces.
 */
import { packHalves } from '../util/half.js';
import { int8Weights, packInt8x4, type QuantizedWeights, type WeightStorage } from './weight-storage.js';

export interface SimdTile {
  /** Invocations per workgroup (a multiple of the subgroup size). */
  wg: number;
  /** Output pixels per invocation. */
  r: number;
  /** vec4 output-channel groups per workgroup (4 * c4 must be a multiple of the subgroup size). */
  c4: number;
}

const DEFAULT_SIMD: SimdTile = { wg: 64, r: 4, c4: 4 };

/**
 * Tile for an image of `pixels` output pixels: 4 pixels x 16 channels per invocation (measured best on
 * lavapipe), and the workgroup size (a multiple of the subgroup size, up to 64) that wastes the fewest
 * invocations on the last, partial workgroup; larger on ties.
 */
export function chooseSimdTile(pixels: number, sg: number): SimdTile {
  let best: SimdTile = DEFAULT_SIMD;
  let bestWaste = Infinity;
  for (let wg = sg; wg <= 64; wg *= 2) {
    const per = wg * DEFAULT_SIMD.r;
    const waste = Math.ceil(pixels / per) * per - pixels;
    if (waste <= bestWaste) {
      best = { ...DEFAULT_SIMD, wg };
      bestWaste = waste;
    }
  }
  return best;
}

/**
 * `storage` (packSimdWeights): f32 reads one k per load; f16 a pair of halves along k per u32, so one read
 * serves two k; int8 four q along k per u32 (int8x4 of shaders/weights_vec4.wgsl), one read for the whole K step.
 */
export function simdStatements(
  tile: SimdTile,
  sg: number,
  vecA: boolean,
  storage: WeightStorage = 'f32',
): Record<'PIXELS' | 'ACCUMULATORS' | 'STEP' | 'STORES', string> {
  const f16 = storage === 'f16';
  const { r: R, c4: C4 } = tile;
  const loads = (4 * C4) / sg;
  const pixels: string[] = [];
  const acc: string[] = [];
  const step: string[] = [];
  const stores: string[] = [];
  for (let r = 0; r < R; r++) {
    pixels.push(`  let p${r} = pixelOf(slice * M + min(first + ${r}u * WG, M - 1u));`);
    for (let v = 0; v < C4; v++) acc.push(`  var acc${r}_${v} = vec4<f32>(0.0);`);
    step.push(
      vecA
        ? `    let a${r} = readA4(p${r}, k);`
        : `    let a${r} = vec4<f32>(readA(p${r}, k), readA(p${r}, k + 1u), readA(p${r}, k + 2u), readA(p${r}, k + ` +
            `3u));`,
    );
  }
  for (let j = 0; j < 4; j++) {
    for (let h = 0; h < loads; h++) {
      if (storage === 'int8') {
        if (j === 0)
          step.push(`    let w0123_${h} = int8x4(weights[slice * WSLICE + (k / 4u) * WROW + c0 + ${h * sg}u + lane]);`);
        step.push(`    let w${j}_${h} = w0123_${h}.${'xyzw'[j]};`);
      } else if (!f16)
        step.push(`    let w${j}_${h} = weights[slice * WSLICE + (k + ${j}u) * WROW + c0 + ${h * sg}u + lane];`);
      else if (j % 2 === 0)
        step.push(
          `    let w${j}_${h}_${j + 1} = unpack2x16float(weights[slice * WSLICE + (k / 2u + ${j / 2}u) * WROW + c0 ` +
            `+ ${h * sg}u + lane]);`,
        );
    }
    if (f16)
      for (let h = 0; h < loads; h++)
        step.push(`    let w${j}_${h} = w${j - (j % 2)}_${h}_${j - (j % 2) + 1}.${j % 2 ? 'y' : 'x'};`);
    for (let v = 0; v < C4; v++) {
      const lanes = [0, 1, 2, 3].map((t) => {
        const q = 4 * v + t;
        return `subgroupBroadcast(w${j}_${Math.floor(q / sg)}, ${q % sg}u)`;
      });
      step.push(`    let b${j}_${v} = vec4<f32>(${lanes.join(', ')});`);
    }
  }
  const comp = ['x', 'y', 'z', 'w'];
  for (let r = 0; r < R; r++) {
    for (let v = 0; v < C4; v++) {
      let expr = `acc${r}_${v}`;
      for (let j = 0; j < 4; j++) expr = `fma(vec4<f32>(a${r}.${comp[j]}), b${j}_${v}, ${expr})`;
      step.push(`    acc${r}_${v} = ${expr};`);
    }
    stores.push(`  if (first + ${r}u * WG < M) {`);
    for (let v = 0; v < C4; v++) {
      stores.push(
        `    if (c0 / 4u + ${v}u < NV) { store(slice * M + first + ${r}u * WG, c0 / 4u + ${v}u, acc${r}_${v}); }`,
      );
    }
    stores.push('  }');
  }
  return { PIXELS: pixels.join('\n'), ACCUMULATORS: acc.join('\n'), STEP: step.join('\n'), STORES: stores.join('\n') };
}

/** Words of one slice of packed weights (packSimdWeights): K rounded up to 4, in the storage's rows. */
export const simdSliceWords = (storage: WeightStorage, k: number, row: number): number =>
  (Math.ceil(k / 4) * 4 * row) / { f32: 1, f16: 2, int8: 4 }[storage];

/** Floats per packed weight row: cout rounded up to whole workgroup column tiles (4 * c4). */
export const simdRow = (cout: number, c4: number): number => Math.ceil(cout / (4 * c4)) * 4 * c4;

/**
 * HWIO weights [k][cout] as conv_simd.wgsl reads them, rows zero padded to simdRow(cout, c4) and k to a
 * multiple of 4: f32 [k][row]; f16 [k / 2][row] u32s, rows 2i and 2i + 1 as halves (low: 2i); int8
 * [k / 4][row] u32s, rows 4i .. 4i + 3 as bytes (low: 4i).
 */
export function packSimdWeights(
  storage: WeightStorage,
  layer: { weights: Float32Array; quantized?: QuantizedWeights },
  k: number,
  cout: number,
  c4: number,
): Float32Array | Uint32Array {
  const row = simdRow(cout, c4);
  const rows = Math.ceil(k / 4) * 4;
  if (storage === 'int8') {
    const { values } = int8Weights(layer, k, cout);
    const q = (r: number, c: number) => (r < k && c < cout ? values[r * cout + c]! : 0);
    const data = new Uint32Array((rows / 4) * row);
    for (let r = 0; r < rows; r += 4) {
      for (let c = 0; c < row; c++)
        data[(r / 4) * row + c] = packInt8x4(q(r, c), q(r + 1, c), q(r + 2, c), q(r + 3, c));
    }
    return data;
  }
  const f32 = new Float32Array(rows * row);
  for (let i = 0; i < k; i++) f32.set(layer.weights.subarray(i * cout, (i + 1) * cout), i * row);
  if (storage === 'f32') return f32;
  const data = new Uint32Array((rows / 2) * row);
  for (let r = 0; r < rows; r += 2) {
    for (let c = 0; c < row; c++) data[(r / 2) * row + c] = packHalves(f32[r * row + c]!, f32[(r + 1) * row + c]!);
  }
  return data;
}
