/**
 * What one batch size of one plan needs on the GPU: the activation arena (every tensor of the plan at its
 * offset), the params uniform ({ batch }), a readback buffer as large as the largest output a run reads,
 * and the bind groups of every step, recorded once. BatchStates keeps them per variant and batch size:
 * arenas of variants other than the intact network are released beyond the VARIANT_STATES most recently
 * used ones, and each variant keeps the arenas of its BATCH_STATES most recently used batch sizes (others
 * are made again when used).
 */
import type { ArenaLayout } from '../plan/arena.js';
import { INTACT, type Variant } from '../plan/plan-cache.js';
import type { Plan } from '../plan/planner.js';
import type { ConstantStore } from './constants.js';
import { BUFFER } from './usage.js';

export interface BatchState {
  plan: Plan;
  layout: ArenaLayout;
  pipelines: GPUComputePipeline[];
  arena: GPUBuffer;
  params: GPUBuffer;
  staging: GPUBuffer;
  bindGroups: GPUBindGroup[];
}

export function createBatchState(
  device: GPUDevice,
  batch: number,
  plan: Plan,
  layout: ArenaLayout,
  pipelines: GPUComputePipeline[],
  constants: ConstantStore,
): BatchState {
  const arena = device.createBuffer({
    label: `arena (batch ${batch})`,
    size: layout.bytes,
    usage: BUFFER.STORAGE | BUFFER.COPY_DST | BUFFER.COPY_SRC,
  });
  const params = device.createBuffer({
    label: `params (batch ${batch})`,
    size: 16,
    usage: BUFFER.UNIFORM | BUFFER.COPY_DST,
  });
  device.queue.writeBuffer(params, 0, new Uint32Array([batch, 0, 0, 0]));
  // Large enough for any output a run reads back (a larger slot, the input, gets a temporary buffer).
  const outBytes = Math.max(...Object.values(plan.outputs).map((t) => (t ? layout.slots.get(t)!.size : 0)));
  const staging = device.createBuffer({
    label: `readback (batch ${batch})`,
    size: outBytes,
    usage: BUFFER.MAP_READ | BUFFER.COPY_DST,
  });
  const bindGroups = plan.steps.map((step, i) =>
    device.createBindGroup({
      label: step.label,
      layout: pipelines[i]!.getBindGroupLayout(0),
      entries: step.resources.map(([binding, r]) => {
        if (r.kind === 'params') return { binding, resource: { buffer: params } };
        if (r.kind === 'constant') return { binding, resource: { buffer: constants.get(r.name) } };
        const slot = layout.slots.get(r.id)!;
        return { binding, resource: { buffer: arena, offset: slot.offset, size: slot.size } };
      }),
    }),
  );
  return { plan, layout, pipelines, arena, params, staging, bindGroups };
}

/** Bytes the state holds on the GPU. */
export const batchStateBytes = (s: BatchState): number => s.arena.size + s.params.size + s.staging.size;

export function destroyBatchState(s: BatchState): void {
  for (const b of [s.arena, s.params, s.staging]) b.destroy();
}

/** Arenas kept for variants other than INTACT; older ones are released. */
const VARIANT_STATES = 4;
/** Batch sizes whose arenas a variant keeps; the least recently used beyond them are released (made again when used).
 * */
const BATCH_STATES = 4;

export class BatchStates {
  /** Variants in order of last use, each with its batch sizes in order of last use. */
  private readonly states = new Map<Variant, Map<number, BatchState>>();

  /** The state of `batch` images of `variant`, if kept (now the most recently used). */
  get(batch: number, variant: Variant): BatchState | undefined {
    const byBatch = this.states.get(variant);
    if (!byBatch) return undefined;
    this.states.delete(variant);
    this.states.set(variant, byBatch);
    const state = byBatch.get(batch);
    if (!state) return undefined;
    byBatch.delete(batch);
    byBatch.set(batch, state);
    return state;
  }

  /** Keeps `state`, releasing the least recently used beyond the limits. */
  add(batch: number, variant: Variant, state: BatchState): void {
    const byBatch = this.states.get(variant) ?? new Map<number, BatchState>();
    this.states.delete(variant);
    this.states.set(variant, byBatch);
    byBatch.set(batch, state);
    for (const [old, s] of [...byBatch].slice(0, Math.max(0, byBatch.size - BATCH_STATES))) {
      destroyBatchState(s);
      byBatch.delete(old);
    }
    const lesioned = [...this.states.keys()].filter((v) => v !== INTACT);
    for (const old of lesioned.slice(0, Math.max(0, lesioned.length - VARIANT_STATES))) this.release(old);
  }

  /** Bytes held on the GPU by every state kept. */
  get bytes(): number {
    let total = 0;
    for (const byBatch of this.states.values()) for (const s of byBatch.values()) total += batchStateBytes(s);
    return total;
  }

  /** Releases the GPU buffers of every state of `variant` (every variant's when none is named). */
  release(variant?: Variant): void {
    for (const v of variant ? [variant] : [...this.states.keys()]) {
      for (const s of this.states.get(v)?.values() ?? []) destroyBatchState(s);
      this.states.delete(v);
    }
  }
}
