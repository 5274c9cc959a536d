/**
 * What one batch size of one plan needs on the GPU: the activation arena (every tensor of the plan at its
 * offset), the params uniform ({ batch }), a readback buffer as large as the largest output a run reads,
 * and the bind groups of every step, recorded once.
 */
import type { ArenaLayout, Plan } from '../plan/planner.js';
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
