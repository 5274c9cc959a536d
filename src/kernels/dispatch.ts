/** Dispatch sizes and the packing helpers the ops share. */

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
