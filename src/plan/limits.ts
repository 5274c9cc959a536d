/**
 * Device-limit arithmetic, pure: whether a plan for `batch` images fits a device (every tensor within one
 * binding, the arena within one buffer, every dispatch within the workgroup count per dimension), and the
 * largest batch that does.
 */
import type { ArenaLayout } from './arena.js';
import type { Plan } from './planner.js';

/** The limits a plan is checked against (a GPUDevice's `limits` has them all). */
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupsPerDimension: number;
}

/** Why `plan`, laid out as `layout`, does not fit a device with `limits` at `batch` images, or undefined when it fits.
 * */
export function overLimit(plan: Plan, layout: ArenaLayout, batch: number, limits: DeviceLimits): string | undefined {
  for (const [id, slot] of layout.slots) {
    if (slot.size > limits.maxStorageBufferBindingSize) {
      return (
        `batch ${batch}: tensor ${id} needs ${slot.size} bytes, more than this device binds at once ` +
        `(${limits.maxStorageBufferBindingSize}); use a smaller batch`
      );
    }
  }
  if (layout.bytes > limits.maxBufferSize) {
    return (
      `batch ${batch}: the activation arena needs ${layout.bytes} bytes, more than this device's ` +
      `maxBufferSize (${limits.maxBufferSize}); use a smaller batch`
    );
  }
  const max = limits.maxComputeWorkgroupsPerDimension;
  for (const step of plan.steps) {
    const groups = step.workgroups(batch, max);
    if (groups.some((g) => g > max)) {
      return (
        `batch ${batch}: ${step.label} needs [${groups}] workgroups, more than this device's ${max} per ` +
        `dimension; use a smaller batch`
      );
    }
  }
  return undefined;
}

/** The largest n in 0..upTo with fits(n), for a `fits` that holds up to some n and fails above it (0: not even 1). */
export function largestFitting(upTo: number, fits: (n: number) => boolean): number {
  if (fits(upTo)) return upTo;
  let lo = 0,
    hi = upTo; // fits(lo) (or lo = 0), !fits(hi)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
