/** The activation arena of a plan: every tensor at an offset where no tensor alive at the same time is. */
import { type Shape, shapeSize } from '../ir/tensor.js';

/** A tensor of a plan and the steps it lives through. */
export interface TensorLife {
  id: string;
  shape: Shape;
  /** Step that writes it (-1: the input, written before the first step). */
  first: number;
  /** Last step that reads it (steps.length: read back after the last step). */
  last: number;
  /** A kernel's scratch (split-K partial sums), not a graph tensor. */
  scratch?: boolean;
}

export interface ArenaLayout {
  bytes: number;
  /** Byte offset and size of each tensor in the arena. */
  slots: Map<string, { offset: number; size: number }>;
}

/**
 * Packs the tensors of `plan` for `batch` images into one arena: largest first, each at the lowest
 * aligned offset that does not overlap a tensor alive at the same time.
 */
export function layoutArena(plan: { tensors: readonly TensorLife[] }, batch: number, alignment = 256): ArenaLayout {
  const align = (n: number) => Math.ceil(n / alignment) * alignment;
  const sized = plan.tensors
    .map((t) => ({ ...t, size: shapeSize(t.shape) * 4 * batch }))
    .sort((a, b) => b.size - a.size || a.first - b.first);
  const placed: Array<{ first: number; last: number; offset: number; end: number }> = [];
  const slots = new Map<string, { offset: number; size: number }>();
  let bytes = 0;
  for (const t of sized) {
    const busy = placed.filter((p) => p.first <= t.last && t.first <= p.last).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of busy) {
      if (offset + t.size <= p.offset) break;
      offset = Math.max(offset, align(p.end));
    }
    placed.push({ first: t.first, last: t.last, offset, end: offset + t.size });
    slots.set(t.id, { offset, size: t.size });
    bytes = Math.max(bytes, align(offset + t.size));
  }
  return { bytes, slots };
}
