/**
 * What an op hands the executor: one specialized WGSL compute shader (entry point `main`), the resources
 * for its bindings, and its dispatch size as a function of the batch. Binding resources are the per-plan
 * `params` uniform ({ batch: u32 }), activation tensors (ranges of the arena) and constants (weights,
 * packed once at load).
 */
export type Resource =
  | { kind: 'params' }
  | { kind: 'tensor'; id: string }
  | { kind: 'constant'; name: string; data: Float32Array };

export interface Kernel {
  /** The node's name, for errors and profiles. */
  label: string;
  code: string;
  resources: Array<[binding: number, resource: Resource]>;
  workgroups(batch: number): [number, number, number];
  /** Floating-point operations for one image (multiply-add = 2). */
  flopsPerImage: number;
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** Spreads `count` workgroups over x and y so neither exceeds the 65535 per-dimension limit. */
export function spread(count: number): [number, number, number] {
  const x = Math.min(count, 32768);
  return [x, Math.max(1, ceilDiv(count, x)), 1];
}

/** A copy of a [rows][cols] matrix with cols zero-padded to a multiple of 4 (the original if already). */
export function padColumns(data: Float32Array, rows: number, cols: number): Float32Array {
  const padded = Math.ceil(cols / 4) * 4;
  if (padded === cols) return data;
  const out = new Float32Array(rows * padded);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols, (r + 1) * cols), r * padded);
  return out;
}
