/**
 * What a kernel builder hands the executor: one specialized WGSL compute shader (entry point `main`,
 * generated on demand: src/kernels/shader.ts), the resources for its bindings, and its dispatch size as a
 * function of the batch. Binding resources are the per-batch `params` uniform ({ batch: u32 }), activation
 * tensors (ranges of the arena) and constants (weights). A constant is packed by `pack()` once, when the
 * executor first uploads that name; plans for other batch sizes name the same constants and reuse the upload.
 */
import type { Shape } from '../ir/tensor.js';
import type { KernelInterface, Resource } from './bindings.js';
import type { ConvAlgorithm } from './conv-types.js';
import type { Shader } from './shader.js';

export interface Kernel {
  /** The node's name, for errors and profiles (a second kernel of a node adds a suffix: `<conv>/sum`). */
  label: string;
  /** The graph node it computes, set by the planner (a conv's split-K sum and Winograd transforms belong to the conv).
   * */
  layer?: string;
  /** What it computes, for profiles: shapes, kernel size, tiling. */
  detail?: string;
  /** Its WGSL (generated when a pipeline is made) and the key pipelines are cached by. */
  shader: Shader;
  /** The interface its bindings are declared from (src/kernels/bindings.ts), and what it binds at each. */
  bindings: KernelInterface;
  resources: Array<[binding: number, resource: Resource]>;
  /** Workgroups for `batch` images on a device that takes at most `maxPerDimension` along each axis. */
  workgroups(batch: number, maxPerDimension: number): [number, number, number];
  /** Floating-point operations for one image (multiply-add = 2). */
  flopsPerImage: number;
  /**
   * Intermediate tensors this kernel writes that are not graph tensors (split-K partial sums, Winograd's
   * transformed tiles, the class activation maps), with their size per image; the planner gives them
   * arena slots and lifetimes like any other tensor.
   */
  scratch?: Array<{ id: string; shape: Shape }>;
  /** Convs: how the conv is computed (src/operators/conv-algorithm.ts), on each of its kernels. */
  algorithm?: ConvAlgorithm;
  /**
   * The conv kernel that runs the GEMM (the one the tiling shapes): what its code is made from but the
   * tiling, so the same kernel with other tilings has the same key (the load-time autotune's shapes).
   */
  gemm?: { key: string; m: number; n: number; k: number };
}
