/**
 * What an op hands the executor: one specialized WGSL compute shader (entry point `main`, generated on
 * demand: src/ops/shader.ts), the resources
 * for its bindings, and its dispatch size as a function of the batch. Binding resources are the per-batch
 * `params` uniform ({ batch: u32 }), activation tensors (ranges of the arena) and constants (weights).
 * A constant is packed by `pack()` once, when the executor first uploads that name; plans for other batch
 * sizes name the same constants and reuse the upload.
 */
import type { Shape } from '../graph/ir.js';
import type { KernelInterface } from './bindings.js';
import type { Shader } from './shader.js';
import type { ConvAlgorithm } from '../plan/conv-algorithm.js';

export type Resource =
  | { kind: 'params' }
  | { kind: 'tensor'; id: string }
  | { kind: 'constant'; name: string; pack: () => Float32Array | Uint32Array };

export interface Kernel {
  /** The node's name, for errors and profiles (a second kernel of a node adds a suffix: `<conv>/sum`). */
  label: string;
  /** The graph node it computes, set by the planner (a conv's split-K sum and Winograd transforms belong to the conv). */
  layer?: string;
  /** What it computes, for profiles: shapes, kernel size, tiling. */
  detail?: string;
  /** Its WGSL (generated when a pipeline is made) and the key pipelines are cached by. */
  shader: Shader;
  /** The interface its bindings are declared from (src/ops/bindings.ts), and what it binds at each. */
  bindings: KernelInterface;
  resources: Array<[binding: number, resource: Resource]>;
  /** Workgroups for `batch` images on a device that takes at most `maxPerDimension` along each axis. */
  workgroups(batch: number, maxPerDimension: number): [number, number, number];
  /** Floating-point operations for one image (multiply-add = 2). */
  flopsPerImage: number;
  /**
   * Intermediate tensors this kernel writes that are not graph tensors (split-K partial sums, the class
   * activation maps), with their size per image; the planner gives them arena slots and lifetimes like
   * any other tensor.
   */
  scratch?: Array<{ id: string; shape: Shape }>;
  /**
   * How this node's scratch can shrink: options for the node (its op's overrides, e.g. a lower split-K
   * factor) under which it needs less, or undefined when it cannot; the planner plans the node again
   * with them where the arena would otherwise grow. Absent: the scratch cannot shrink.
   */
  lessScratch?: () => object | undefined;
  /** Convs: how it is computed (src/plan/conv-algorithm.ts), for profiles and tests. */
  algorithm?: ConvAlgorithm;
}
