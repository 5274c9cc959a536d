/**
 * How a convolution is computed, decided in one place. Per device (convLoweringFor): the register-shuffle
 * simd kernels on CPU adapters with fixed-size subgroups, tiled GEMMs elsewhere, or the strategy the
 * caller asks for (`loadResNet({ convStrategy })`). Per conv (chooseConvAlgorithm): the gather that reads
 * its input, the main loop, Winograd or not, and for the tiled loop the tile and split-K factor for this
 * batch; a grouped conv always runs the grouped loop. src/kernels/conv.ts builds the kernels of a decision
 * and decides nothing itself. The measurements behind the thresholds are in docs/results.md.
 */
import { InputError } from '../errors.js';
import type { Shape } from '../ir/tensor.js';
import { chooseTiling, TILES, type Tiling, type TilingPolicy, tilingProblem } from '../kernels/conv-tiling.js';
import {
  type ConvAlgorithm,
  type ConvGather,
  type ConvSpec,
  type ConvStrategy,
  CONV_STRATEGIES,
  convGemm,
} from '../kernels/conv-types.js';
import type { WeightStorage } from '../kernels/weight-storage.js';
import { type WinogradTile, winogradFits, winogradTileCount } from '../kernels/winograd.js';
import { isCpuAdapter } from '../util/adapter.js';

/** The device's side of the decision, made once per device. */
export interface ConvLowering {
  convStrategy: ConvStrategy;
  subgroupSize?: number;
  /** Whether the simd main loop may also take the scalar-gather stem (few input channels). */
  simdStem?: boolean;
  /**
   * The caller's `winograd` option: true (default) Winograd where it pays, with the output tile chosen per
   * conv; 2 or 4: F(2x2, 3x3) or F(4x4, 3x3) wherever it fits; false: direct convs only.
   */
  winograd?: boolean | WinogradTile;
}

/** The subgroup size of a CPU adapter whose subgroups have one fixed size the simd loop can use. */
function fixedSubgroupSize(device: GPUDevice, info: Partial<GPUAdapterInfo> | undefined): number | undefined {
  const { subgroupMinSize: min, subgroupMaxSize: max } = (info ?? {}) as {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
  const fixed = isCpuAdapter(info) && device.features.has('subgroups') && min && min === max && 32 % min === 0;
  return fixed ? min : undefined;
}

/**
 * How to lower convolutions on this device: `requested` if given ('simd' only where the adapter can run
 * it: an InputError otherwise), else simd on CPU adapters with fixed-size subgroups (Mesa lavapipe,
 * SwiftShader), tiled elsewhere. SwiftShader's shader compiler crashes on the unrolled scalar-gather
 * stem, so there the stem stays tiled.
 */
export function convLoweringFor(
  device: GPUDevice,
  info: Partial<GPUAdapterInfo> | undefined,
  requested?: ConvStrategy,
): ConvLowering {
  if (requested !== undefined && !CONV_STRATEGIES.includes(requested)) {
    throw new InputError(`convStrategy must be 'tiled' or 'simd', got ${JSON.stringify(requested)}`);
  }
  if (requested === 'tiled') return { convStrategy: 'tiled' };
  const size = fixedSubgroupSize(device, info);
  if (!size) {
    if (requested === 'simd') {
      const needs = "a CPU adapter with the 'subgroups' feature and one fixed subgroup size (such as Mesa lavapipe)";
      throw new InputError(`convStrategy 'simd' needs ${needs}; this adapter has none: use 'tiled'`);
    }
    return { convStrategy: 'tiled' };
  }
  const swiftShader = /swiftshader/i.test(`${info?.architecture ?? ''} ${info?.description ?? ''}`);
  return { convStrategy: 'simd', subgroupSize: size, simdStem: !swiftShader };
}

/** What a conv's decision may be pinned to: by tests and tuning, and by the planner to shrink split-K scratch. */
export interface ConvOverride {
  strategy?: ConvStrategy;
  gather?: ConvGather;
  tiling?: Tiling;
  subgroupSize?: number;
  /** Winograd for a conv it fits (true: the default tile; 2 or 4: that tile; false: the direct conv). */
  winograd?: boolean | WinogradTile;
}

function chooseGather(spec: Pick<ConvSpec, 'kernel' | 'pads'>, cin: number): ConvGather {
  if (spec.kernel[0] === 1 && spec.kernel[1] === 1 && spec.pads.every((p) => p === 0)) return 'pointwise';
  return cin % 4 === 0 ? 'window' : 'rows';
}

/**
 * Fewest 4x4 tiles an image must have for F(4x4, 3x3) (36 weight matrices, 2.25 times F(2x2)'s bytes)
 * rather than F(2x2, 3x3): in the simd loop, and in the tiled loop (one 16-row tile, TILES.skinny).
 */
export const WINOGRAD_F4_MIN_TILES: Record<ConvStrategy, number> = { simd: 32, tiled: TILES.skinny.bm };

/** Fewest 2x2 tiles an image must have for the tiled loop to take Winograd: one 16-row tile (TILES.skinny). */
export const WINOGRAD_MIN_TILED_TILES = TILES.skinny.bm;

/**
 * The Winograd output tile for a conv, or undefined for the direct conv. Where it fits, with f32 weights:
 * 16 or 36 GEMMs of one slice each, never split along K (a tiling pinned with split-K asks for the direct
 * GEMM); the tiled loop only for images of at least one 16-row tile of 2x2 tiles unless forced; F(4x4) for
 * images of WINOGRAD_F4_MIN_TILES 4x4 tiles. Per image, not per batch: every batch size's plan uses the
 * weights uploaded at load. f16 weights: direct unless a variant is asked for by number, and then F(2x2):
 * the transformed filters rounded to halves are not the file's halves, and F(4x4)'s rounding error is many
 * times the direct f16 conv's (test/kernels.test.ts bounds F(2x2)'s). int8 weights: always direct.
 */
function chooseWinograd(
  spec: ConvSpec,
  [inShape, outShape]: [Shape, Shape],
  strategy: ConvStrategy,
  storage: WeightStorage,
  setting: boolean | WinogradTile,
  override: ConvOverride,
): WinogradTile | undefined {
  const fits = winogradFits(spec, inShape) && (override.tiling?.split ?? 1) === 1;
  if (setting === false || storage === 'int8' || !fits) return undefined;
  if (storage === 'f16') return typeof setting === 'number' ? 2 : undefined;
  if (typeof setting === 'number') return setting;
  const fewTiles = winogradTileCount(outShape, 2) < WINOGRAD_MIN_TILED_TILES;
  if (strategy === 'tiled' && override.winograd !== true && fewTiles) return undefined;
  return winogradTileCount(outShape, 4) >= WINOGRAD_F4_MIN_TILES[strategy] ? 4 : 2;
}

/** What a conv's decision depends on besides the conv: the device's lowering, the batch, the policy, the storage. */
export interface ConvContext {
  lowering?: Partial<ConvLowering>;
  batch?: number;
  policy?: TilingPolicy;
  storage?: WeightStorage;
}

/** The algorithm for a conv in a plan for `batch` images on a device lowered as `lowering` (default: tiled). */
export function chooseConvAlgorithm(
  spec: ConvSpec,
  inShape: Shape,
  outShape: Shape,
  context: ConvContext,
  override: ConvOverride = {},
): ConvAlgorithm {
  const { lowering = {}, batch = 1, policy, storage = 'f32' } = context;
  const cin = inShape[2];
  if ((spec.groups ?? 1) > 1) {
    const simd = (override.strategy ?? lowering.convStrategy) === 'simd';
    const subgroupSize = simd ? (override.subgroupSize ?? lowering.subgroupSize) : undefined;
    return { gather: 'window', strategy: 'grouped', ...(subgroupSize && { subgroupSize }) };
  }
  const gather = override.gather ?? chooseGather(spec, cin);
  const stemStaysTiled = lowering.convStrategy === 'simd' && cin % 4 !== 0 && lowering.simdStem === false;
  const strategy = override.strategy ?? (stemStaysTiled ? 'tiled' : (lowering.convStrategy ?? 'tiled'));
  const setting = override.winograd ?? lowering.winograd ?? true;
  const m = chooseWinograd(spec, [inShape, outShape], strategy, storage, setting, override);
  const winograd = m ? { winograd: m } : {};
  if (strategy === 'simd') {
    const subgroupSize = override.subgroupSize ?? lowering.subgroupSize;
    if (!subgroupSize) throw new Error(`${spec.name}: the simd strategy needs the device's subgroup size`);
    return { gather, strategy, subgroupSize, ...winograd };
  }
  const gemm = convGemm(spec, inShape, outShape, m);
  const chosen = override.tiling ?? chooseTiling(batch * gemm.m, gemm.n, gemm.k, policy);
  // Winograd's slices are never split along K
  const tiling = m ? { tile: chosen.tile, split: 1 } : chosen;
  const problem = tilingProblem(tiling);
  if (problem) throw new Error(`${spec.name}: ${problem}`);
  return { gather, strategy, tiling, ...winograd };
}

/** The same decision with half the split-K factor (less scratch), or undefined when it does not split. */
export function halfSplit(algorithm: ConvAlgorithm): ConvOverride | undefined {
  if (algorithm.strategy !== 'tiled' || algorithm.tiling.split <= 1) return undefined;
  return { tiling: { tile: algorithm.tiling.tile, split: Math.max(1, Math.floor(algorithm.tiling.split / 2)) } };
}
