/**
 * How a convolution is computed, decided in one place. Per device (convLoweringFor): the register-shuffle
 * simd kernels on CPU adapters with fixed-size subgroups, tiled GEMMs elsewhere, or the strategy the
 * caller asks for (`loadResNet({ convStrategy })`). Per conv (chooseConvAlgorithm): the gather that reads
 * its input, the main loop, and for the tiled loop the tile and split-K factor for this batch.
 * src/ops/conv2d.ts builds the kernels of a decision and decides nothing itself.
 */
import { InputError } from '../errors.js';
import type { Conv2dNode, Shape } from '../graph/ir.js';
import { chooseTiling, TILES, tilingProblem, type Tiling, type TilingPolicy } from '../ops/conv-tiling.js';
import { isCpuAdapter } from '../runtime/device.js';
import { winogradFits, winogradTileCount, type WinogradTile } from '../ops/winograd.js';
import type { WeightStorage } from '../ops/weight-storage.js';

/**
 * How the GEMM is run: `tiled` stages tiles in workgroup memory (GPUs); `simd` gives each invocation a
 * few output pixels and shares weights across a subgroup by register shuffles (CPU adapters, whose
 * invocations are SIMD lanes; needs the `subgroups` feature and a fixed subgroup size).
 */
export type ConvStrategy = 'tiled' | 'simd';
export const CONV_STRATEGIES: readonly ConvStrategy[] = ['tiled', 'simd'];

/**
 * How a row of A is read: `pointwise` for a 1x1 unpadded conv (the input pixels themselves), `window` for
 * any KxK window (vec4 loads when CIN is a multiple of 4), `rows` for a KxK window over few channels,
 * read as contiguous rows of KW x CIN values (the stem over RGB).
 */
export type ConvGather = 'pointwise' | 'window' | 'rows';

/** The decision for one conv, all a kernel is built from. */
export type ConvAlgorithm = { gather: ConvGather; winograd?: WinogradTile } & (
  | { strategy: 'tiled'; tiling: Tiling }
  | { strategy: 'simd'; subgroupSize: number }
);

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
  const min = (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize;
  const max = (info as { subgroupMaxSize?: number } | undefined)?.subgroupMaxSize;
  return isCpuAdapter(info) && device.features.has('subgroups') && min && min === max && 32 % min === 0
    ? min
    : undefined;
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
  if (requested !== undefined && !CONV_STRATEGIES.includes(requested))
    throw new InputError(`convStrategy must be 'tiled' or 'simd', got ${JSON.stringify(requested)}`);
  if (requested === 'tiled') return { convStrategy: 'tiled' };
  const size = fixedSubgroupSize(device, info);
  if (!size) {
    if (requested === 'simd')
      throw new InputError(
        "convStrategy 'simd' needs a CPU adapter with the 'subgroups' feature and one fixed subgroup size (such as Mesa lavapipe); this adapter has none: use 'tiled'",
      );
    return { convStrategy: 'tiled' };
  }
  return {
    convStrategy: 'simd',
    subgroupSize: size,
    simdStem: !/swiftshader/i.test(`${info?.architecture ?? ''} ${info?.description ?? ''}`),
  };
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

function chooseGather(node: Pick<Conv2dNode, 'kernel' | 'pads'>, cin: number): ConvGather {
  if (node.kernel[0] === 1 && node.kernel[1] === 1 && node.pads.every((p) => p === 0)) return 'pointwise';
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
 * The Winograd output tile for `node`, or undefined for the direct conv. Where it fits, with f32 weights:
 * 16 or 36 GEMMs of one slice each, never split along K (a tiling pinned with split-K asks for the direct
 * GEMM); the tiled loop only for images of at least one 16-row tile of 2x2 tiles unless forced
 * (measured on lavapipe, tiled, batch 1: 7x7x512, 16 tiles, 44-48 ms a conv in 16-row tiles, 125-135 in
 * 64-row tiles, against 69-94 direct with split-K 64; 14x14x256, 49 tiles, 32-47 against 65-91); F(4x4)
 * for images of WINOGRAD_F4_MIN_TILES 4x4 tiles (lavapipe, batch 1: simd, 14x14x256's six convs 40.6 ms
 * with F(2x2), 57.8 with F(4x4); tiled, 229 ms with F(2x2) in 64-row tiles, 164 with F(4x4) in 16-row
 * tiles; 7x7x512's three 132 with F(2x2), 298 with F(4x4): 4 tiles). Per image, not per batch: every batch size's plan uses the weights uploaded at load.
 * f16 weights: direct unless a variant is asked for by number, and then F(2x2): the transformed filters
 * rounded to halves are not the file's halves (a compact f16 ResNet-18 drifts from 6e-7 to 8e-5 of
 * onnxruntime on the same weights, and its weights grow 1.6 times); F(4x4)'s error is 10-20 times the
 * direct f16 conv's (test/kernels.test.ts), F(2x2)'s 1.4-2 times. int8 weights: always direct.
 */
function chooseWinograd(
  node: Conv2dNode,
  inShape: Shape,
  outShape: Shape,
  strategy: ConvStrategy,
  storage: WeightStorage,
  setting: boolean | WinogradTile,
  override: ConvOverride,
): WinogradTile | undefined {
  if (setting === false || storage === 'int8' || !winogradFits(node, inShape) || (override.tiling?.split ?? 1) !== 1)
    return undefined;
  if (storage === 'f16') return typeof setting === 'number' ? 2 : undefined;
  if (typeof setting === 'number') return setting;
  if (strategy === 'tiled' && override.winograd !== true && winogradTileCount(outShape, 2) < WINOGRAD_MIN_TILED_TILES)
    return undefined;
  return winogradTileCount(outShape, 4) >= WINOGRAD_F4_MIN_TILES[strategy] ? 4 : 2;
}

/** The algorithm for `node` in a plan for `batch` images on a device lowered as `lowering` (default: tiled). */
export function chooseConvAlgorithm(
  node: Conv2dNode,
  inShape: Shape,
  outShape: Shape,
  context: { lowering?: Partial<ConvLowering>; batch?: number; policy?: TilingPolicy; storage?: WeightStorage },
  override: ConvOverride = {},
): ConvAlgorithm {
  const { lowering = {}, batch = 1, policy, storage = 'f32' } = context;
  const cin = inShape[2];
  const gather = override.gather ?? chooseGather(node, cin);
  const stem = cin % 4 !== 0;
  const strategy =
    override.strategy ??
    (lowering.convStrategy === 'simd' && stem && lowering.simdStem === false
      ? 'tiled'
      : (lowering.convStrategy ?? 'tiled'));
  const m = chooseWinograd(
    node,
    inShape,
    outShape,
    strategy,
    storage,
    override.winograd ?? lowering.winograd ?? true,
    override,
  );
  const winograd = m ? { winograd: m } : {};
  if (strategy === 'simd') {
    const subgroupSize = override.subgroupSize ?? lowering.subgroupSize;
    if (!subgroupSize) throw new Error(`${node.name}: the simd strategy needs the device's subgroup size`);
    return { gather, strategy, subgroupSize, ...winograd };
  }
  const [kh, kw] = node.kernel;
  const tiling = m
    ? {
        tile: (override.tiling ?? chooseTiling(batch * winogradTileCount(outShape, m), outShape[2], cin, policy)).tile,
        split: 1,
      }
    : (override.tiling ?? chooseTiling(batch * outShape[0] * outShape[1], outShape[2], kh * kw * cin, policy));
  const problem = tilingProblem(tiling);
  if (problem) throw new Error(`${node.name}: ${problem}`);
  return { gather, strategy, tiling, ...winograd };
}

/** The same decision with half the split-K factor (less scratch), or undefined when it does not split. */
export function halfSplit(algorithm: ConvAlgorithm): ConvOverride | undefined {
  if (algorithm.strategy !== 'tiled' || algorithm.tiling.split <= 1) return undefined;
  return { tiling: { tile: algorithm.tiling.tile, split: Math.max(1, Math.floor(algorithm.tiling.split / 2)) } };
}
