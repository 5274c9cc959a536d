/**
 * The conv main loops (how the products of a GEMM are summed): the tiled loop for GPUs
 * (shaders/conv_gemm.wgsl: tiles in workgroup memory), the simd loop for CPU adapters
 * (shaders/conv_simd.wgsl: weights shared across a subgroup by register shuffles, src/kernels/conv-simd.ts),
 * and the grouped loop (shaders/conv_grouped.wgsl: a grouped conv's per-group sums, on any adapter).
 */
import { type Bound, constants } from './bindings.js';
import { type Gemm, windowOrigin } from './conv-parts.js';
import { CONV_SHADERS } from './conv-shaders.js';
import { chooseSimdTile, packSimdWeights, simdRow, simdSliceWords, simdStatements } from './conv-simd.js';
import { describeTiling, type Tiling } from './conv-tiling.js';
import { GraphError } from '../errors.js';
import { ceilDiv } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { COLUMN_ELEMENT, packColumns, type WeightStorage } from './weight-storage.js';
import { specialize } from './wgsl.js';
import { concatArrays } from '../util/vectors.js';

/** What a main loop contributes to a kernel: its code, the weights as it reads them, and its dispatch. */
export interface MainLoop {
  /** Its WGSL (made on demand). */
  code: () => string;
  weights: Bound;
  workgroups: Kernel['workgroups'];
  subgroups: boolean;
  describe: string;
}

/** Slices: Winograd's 16 or 36 GEMMs in one dispatch (workgroup z: slice z), each with its own weights [k][cout]. */
export interface Slices {
  count: number;
  weights: () => Float32Array[];
  name: string;
}

const weightsCode = (storage: WeightStorage) =>
  specialize('weights_vec4.wgsl', CONV_SHADERS.weightsVec4, { F16: storage === 'f16', INT8: storage === 'int8' });

export function tiledLoop(
  g: Gemm,
  tiling: Tiling,
  storage: WeightStorage,
  gemmShader = CONV_SHADERS.gemm,
  slices?: Slices,
): MainLoop {
  const { spec, k, nv, ohw } = g;
  const cout = g.outShape[2];
  const { tile, split } = tiling;
  if (slices && split > 1) throw new Error(`${spec.name}: a sliced GEMM cannot also split K`);
  const ks = ceilDiv(ceilDiv(k, tile.bk), split) * tile.bk;
  const pack = slices
    ? () => concatArrays(slices.weights().map((w) => packColumns(storage, { weights: w }, k, cout)))
    : () => packColumns(storage, spec, k, cout);
  const defines = {
    VEC_A: g.vecA,
    BM4: tile.bm / 4,
    BN4: tile.bn4,
    BK: tile.bk,
    WG_M: tile.wgM,
    WG_N: tile.wgN,
    TM4: tile.bm / 4 / tile.wgM,
    TN4: tile.bn4 / tile.wgN,
    KS: split > 1 ? ks : k,
    SLICED: slices !== undefined,
  };
  const name = `${spec.name}/${slices?.name ?? 'weights'}${storage === 'f32' ? '' : ` (${storage})`}`;
  return {
    code: () => weightsCode(storage) + specialize('conv_gemm.wgsl', gemmShader, defines),
    weights: constants(name, pack, COLUMN_ELEMENT[storage]),
    workgroups: (batch) => [ceilDiv(nv, tile.bn4), ceilDiv(batch * ohw, tile.bm), slices?.count ?? split],
    subgroups: false,
    describe: `${slices ? `${slices.count} GEMMs, ` : ''}tile ${describeTiling(tiling)}`,
  };
}

export function simdLoop(g: Gemm, sg: number, storage: WeightStorage, slices?: Slices): MainLoop {
  const { spec, k, nv, ohw } = g;
  const cout = g.outShape[2];
  const st = chooseSimdTile(ohw, sg || 8);
  if (!(sg > 0 && (4 * st.c4) % sg === 0 && st.wg % sg === 0)) {
    const got = sg || 'none';
    throw new Error(
      `${spec.name}: the simd strategy needs a subgroup size dividing ${4 * st.c4} and ${st.wg} (got ${got})`,
    );
  }
  const layout = `simd, ${st.c4} vec4 columns${storage === 'f32' ? '' : `, ${storage}`}`;
  const row = simdRow(cout, st.c4);
  const pack = slices
    ? () => concatArrays(slices.weights().map((w) => packSimdWeights(storage, { weights: w }, k, cout, st.c4)))
    : () => packSimdWeights(storage, spec, k, cout, st.c4);
  const defines = {
    WG: st.wg,
    R: st.r,
    WROW: row,
    SG: sg,
    C4: st.c4,
    WSLICE: simdSliceWords(storage, k, row),
    ...simdStatements(st, sg, g.vecA, storage),
  };
  return {
    code: () =>
      specialize('conv_simd.wgsl', CONV_SHADERS.simd, defines) + (storage === 'int8' ? weightsCode(storage) : ''),
    weights: constants(
      `${spec.name}/${slices?.name ?? 'weights'} (${layout})`,
      pack,
      storage === 'f32' ? 'f32' : 'u32',
    ),
    workgroups: (batch) => [ceilDiv(batch * ohw, st.wg * st.r), ceilDiv(nv, st.c4), slices?.count ?? 1],
    subgroups: true,
    describe: slices ? `${slices.count} GEMMs, simd` : 'simd',
  };
}

/** The grouped loop's workgroup size. */
const GROUPED_WG = 64;

/**
 * Pixels per invocation of the grouped loop for images of `ohw` output pixels: the most of 4, 2, 1 that leaves
 * at most a quarter of an image's invocation slots idle (7x7 images: 1; 14x14 and larger: 4).
 */
export function groupedPixels(ohw: number): number {
  for (const r of [4, 2, 1]) {
    const slots = ceilDiv(ohw, GROUPED_WG * r) * GROUPED_WG * r;
    if (slots - ohw <= slots / 4) return r;
  }
  return 1;
}

/** A grouped conv's loop: a workgroup per 4 output channels (one group) and WG * R output pixels. */
export function groupedLoop(g: Gemm, storage: WeightStorage, subgroupSize?: number): MainLoop {
  const { spec, inShape, outShape, k, nv, ohw } = g;
  const groups = spec.groups ?? 1;
  const [cin, cout] = [inShape[2], outShape[2]];
  const coutG = cout / groups;
  if (coutG % 4 !== 0)
    throw new GraphError(
      `${spec.name}: a grouped conv needs a multiple of 4 output channels per group (${groups} groups of ${coutG})`,
    );
  const window = windowOrigin(g);
  const [kh, kw] = spec.kernel;
  const [wg, r] = [GROUPED_WG, groupedPixels(ohw)];
  const defines = { CIN: cin, CING: cin / groups, COUT_G: coutG, KH: kh, KW: kw, VEC_A: g.vecA, WG: wg, R: r };
  const statements = groupedStatements(r, g.vecA);
  const subgroups = g.vecA && subgroupSize !== undefined && subgroupSize >= 4;
  const name = `${spec.name}/weights${storage === 'f32' ? '' : ` (${storage})`}`;
  return {
    code: () =>
      window +
      weightsCode(storage) +
      specialize('conv_grouped.wgsl', CONV_SHADERS.grouped, { ...defines, ...statements, SUBGROUPS: subgroups }),
    weights: constants(name, () => packColumns(storage, spec, k, cout), COLUMN_ELEMENT[storage]),
    workgroups: (batch) => [ceilDiv(batch * ohw, wg * r), nv, 1],
    subgroups,
    describe: `${groups} groups, ${r} pixels per invocation${subgroups ? ', weights shared in subgroups' : ''}`,
  };
}

/** The grouped loop's statements for each of its R pixels, unrolled. */
function groupedStatements(r: number, vecA: boolean): Record<'PIXELS' | 'WINDOW' | 'STEP' | 'STORES', string> {
  const each = (indent: string, line: (i: number) => string) =>
    Array.from({ length: r }, (_, i) => indent + line(i)).join('\n');
  const step = vecA
    ? (i: number) =>
        `let a${i} = select(vec4<f32>(0.0), preact4(input[(at${i}.x + c) / 4u], (first + c) / 4u), at${i}.y == 1u); ` +
        `acc${i} += a${i}.x * w0 + a${i}.y * w1 + a${i}.z * w2 + a${i}.w * w3;`
    : (i: number) => `acc${i} += select(0.0, preact1(input[at${i}.x + c], first + c), at${i}.y == 1u) * w;`;
  return {
    PIXELS: each(
      '  ',
      (i) => `let m${i} = base + ${i}u * WG; let p${i} = pixelOf(min(m${i}, M - 1u)); var acc${i} = vec4<f32>(0.0);`,
    ),
    WINDOW: each('      ', (i) => `let at${i} = windowAt(p${i}, ky, kx, first);`),
    STEP: each('        ', step),
    STORES: each('  ', (i) => `if (m${i} < M) { store(m${i}, n4, acc${i}); }`),
  };
}
