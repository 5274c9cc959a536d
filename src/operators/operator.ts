/**
 * What an operator is, in one module per kind (src/operators/<op>.ts, registered in src/operators/index.ts):
 * its node type and a factory for it, shape inference (the graph builder checks every node with it, at any
 * input size), lowering to kernels (or a GraphError for an op the passes must fuse into another), the
 * float64 reference the tests compare every kernel with, and how it is written to ONNX.
 */
import { GraphError } from '../errors.js';
import type { InputField, NodeBase } from '../ir/node.js';
import type { QuantizedWeights, RefTensor, Shape } from '../ir/tensor.js';
import type { TilingPolicy } from '../kernels/conv-tiling.js';
import type { ConvBuildOptions, ConvStrategy } from '../kernels/conv-types.js';
import type { Kernel } from '../kernels/kernel.js';
import type { WeightStorage } from '../kernels/weight-storage.js';
import type { WinogradTile } from '../kernels/winograd.js';
import type { OnnxWriter } from '../onnx/writer.js';
import type { ConvOverride } from './conv-algorithm.js';

/** How nodes are lowered to kernels: the batch, the device's conv lowering, the weights' storage, pins. */
export interface LowerOptions {
  /** The batch size to plan for (default 1). */
  batch?: number;
  /** Conv main loop: 'tiled' for GPUs (default), 'simd' for CPU adapters (needs subgroupSize). */
  convStrategy?: ConvStrategy;
  /** Winograd for the 3x3 stride-1 convs (default true: where it pays; 2 or 4: that output tile wherever it fits;
   * false: none). */
  winograd?: boolean | WinogradTile;
  subgroupSize?: number;
  /** With 'simd': whether convs over few input channels (the stem) take it too; else they stay tiled. */
  simdStem?: boolean;
  /** How conv and dense weights are stored on the GPU (LoadOptions.precision; default 'f32'). */
  weightStorage?: WeightStorage;
  /** Tiled convs: the tiling policy (for tuning runs). */
  policy?: TilingPolicy;
  /** Tiled convs: the main loop's WGSL (experiments in bench/kernels/; default shaders/conv_gemm.wgsl). */
  gemmShader?: string;
  /**
   * Per conv node name: a pinned decision (src/operators/conv-algorithm.ts) or build option; tests pin a
   * strategy or tiling, the autotune a tiling, and planWithinMemory a lower split-K factor.
   */
  conv?: Record<string, ConvOverride & ConvBuildOptions>;
}

export interface Operator<N extends NodeBase> {
  /** The node's input tensors, by field, main input first (an optional one may be absent). */
  readonly inputs: readonly InputField<N>[];
  /** Whether it carries weights: a weight layer (the network's depth counts them), released once on the GPU. */
  readonly weighted: boolean;
  /** The output's shape from the inputs' (in `inputs` order), the node checked against them: a GraphError naming it. */
  infer(node: N, inputs: readonly Shape[]): Shape;
  /** The kernels that compute the node; a GraphError for an op that only runs fused into another. */
  lower(node: N, inputs: readonly Shape[], output: Shape, options: LowerOptions): Kernel[];
  /** What the node computes, in float64, plainly: what every kernel is tested against. */
  reference(node: N, inputs: readonly RefTensor[]): RefTensor;
  /** The node written as ONNX (its tensors named through `onnx.name`; `inputs`: the input shapes). */
  toOnnx(onnx: OnnxWriter, node: N, inputs: readonly Shape[]): void;
}

/** The lowering of an op the passes must fuse into another: a GraphError saying where it must stand. */
export function mustFuse(node: NodeBase, where: string): never {
  throw new GraphError(`${node.name}: a standalone ${node.op} is not supported (it must ${where})`);
}

/** int8 weights that agree with the weights they stand for (`count` values, a scale per output channel). */
export function checkQuantized(name: string, q: QuantizedWeights | undefined, count: number, channels: number): void {
  if (!q) return;
  if (q.values.length !== count) throw new GraphError(`${name}: ${q.values.length} int8 values for ${count} weights`);
  if (q.scales.length !== channels) {
    throw new GraphError(`${name}: ${q.scales.length} int8 scales for ${channels} output channels`);
  }
}

/** A float64 tensor of `batch` images of `shape`, zeros. */
export const refTensor = (batch: number, shape: Shape): RefTensor => ({
  data: new Float64Array(batch * shape[0] * shape[1] * shape[2]),
  batch,
  shape,
});
