/**
 * How a run is recorded: every step of a plan into one compute pass, or (a profile) each step in a pass of
 * its own with GPU timestamps at its start and end, resolved and read back as each dispatch's duration.
 */
import type { BatchState } from './batch-state.js';
import { mapRead } from './buffers.js';
import type { ProfileStep } from './run-types.js';
import { BUFFER } from './usage.js';

/**
 * Every step of the network into `encoder`: one compute pass (after `before`, which may dispatch into
 * it first), or with `timestamps`, one pass per step with its start and end written to the query set.
 */
export function encodeSteps(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  state: BatchState,
  batch: number,
  options: { before?: (pass: GPUComputePassEncoder) => void; timestamps?: GPUQuerySet } = {},
): void {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  const { timestamps } = options;
  let pass = timestamps ? undefined : encoder.beginComputePass({ label: 'resnet' });
  if (pass) options.before?.(pass);
  state.plan.steps.forEach((step, i) => {
    if (timestamps) {
      const timestampWrites = {
        querySet: timestamps,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i + 1,
      };
      pass = encoder.beginComputePass({ label: step.label, timestampWrites });
    }
    pass!.setPipeline(state.pipelines[i]!);
    pass!.setBindGroup(0, state.bindGroups[i]!);
    pass!.dispatchWorkgroups(...step.workgroups(batch, max));
    if (timestamps) pass!.end();
  });
  if (!timestamps) pass!.end();
}

/** Runs the plan of `state` with a timestamp pair around each dispatch (the input already uploaded) and reads the
 * durations. */
export async function profileSteps(device: GPUDevice, state: BatchState, batch: number): Promise<ProfileStep[]> {
  const { steps } = state.plan;
  const n = steps.length;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * n });
  const resolve = device.createBuffer({ size: 16 * n, usage: BUFFER.QUERY_RESOLVE | BUFFER.COPY_SRC });
  const read = device.createBuffer({ size: 16 * n, usage: BUFFER.MAP_READ | BUFFER.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: 'profile' });
    encodeSteps(device, encoder, state, batch, { timestamps: querySet });
    encoder.resolveQuerySet(querySet, 0, 2 * n, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
    device.queue.submit([encoder.finish()]);
    const t = new BigUint64Array(await mapRead(read, 0, 16 * n));
    return steps.map((step, i) => ({
      label: step.label,
      layer: step.layer ?? step.label,
      detail: step.detail ?? '',
      ms: Number(t[2 * i + 1]! - t[2 * i]!) / 1e6,
      flops: step.flopsPerImage * batch,
    }));
  } finally {
    querySet.destroy();
    resolve.destroy();
    read.destroy();
  }
}
