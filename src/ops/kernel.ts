/**
 * What an op hands the executor: one specialized WGSL compute shader (entry point `main`), the resources
 * for its bindings, and its dispatch size as a function of the batch. Binding resources are the per-batch
 * `params` uniform ({ batch: u32 }), activation tensors (ranges of the arena) and constants (weights).
 * A constant is packed by `pack()` once, when the executor first uploads that name; plans for other batch
 * sizes name the same constants and reuse the upload.
 */
import type { Shape } from '../graph/ir.js';
import type { Tiling } from './conv-tiling.js';

export type Resource =
  | { kind: 'params' }
  | { kind: 'tensor'; id: string }
  | { kind: 'constant'; name: string; pack: () => Float32Array | Uint32Array };

export interface Kernel {
  /** The node's name, for errors and profiles. */
  label: string;
  /** What it computes, for profiles: shapes, kernel size, tiling. */
  detail?: string;
  code: string;
  resources: Array<[binding: number, resource: Resource]>;
  /** Workgroups for `batch` images on a device that takes at most `maxPerDimension` along each axis. */
  workgroups(batch: number, maxPerDimension: number): [number, number, number];
  /** Floating-point operations for one image (multiply-add = 2). */
  flopsPerImage: number;
  /**
   * Intermediate tensors this kernel writes that are not graph tensors (split-K partial sums), with their
   * size per image; the planner gives them arena slots and lifetimes like any other tensor.
   */
  scratch?: Array<{ id: string; shape: Shape }>;
  /** Tiled convs: the tile and split-K factor chosen (the planner may lower the split to save memory). */
  tiling?: Tiling;
}

/**
 * Invocations per workgroup of the kernels that give one invocation to each output element (pooling,
 * add + ReLU, the split-K sum): the `${WORKGROUP_SIZE}` define of their WGSL.
 */
export const WORKGROUP_SIZE = 64;

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/**
 * Workgroups for one invocation per element of `count`, spread over x and y so that neither exceeds the
 * device's `maxPerDimension` (the kernels index gid.x + gid.y * num_workgroups.x * WORKGROUP_SIZE).
 */
export function elementwiseWorkgroups(count: number, maxPerDimension: number): [number, number, number] {
  const groups = ceilDiv(count, WORKGROUP_SIZE);
  const x = Math.min(groups, maxPerDimension);
  return [x, Math.max(1, ceilDiv(groups, x)), 1];
}

/** A copy of a [rows][cols] matrix with cols zero-padded to a multiple of 4 (the original if already). */
export function padColumns(data: Float32Array, rows: number, cols: number): Float32Array {
  const padded = Math.ceil(cols / 4) * 4;
  if (padded === cols) return data;
  const out = new Float32Array(rows * padded);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols, (r + 1) * cols), r * padded);
  return out;
}
