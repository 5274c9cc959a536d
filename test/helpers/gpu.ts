/** Test helpers: one Dawn device for a test file, and single-kernel runs through the real executor. */
import { acquireNodeDevice } from '../../src/node/gpu.js';
import type { Graph } from '../../src/graph/graph.js';
import { planGraph, type PlanOptions } from '../../src/plan/planner.js';
import { Executor } from '../../src/runtime/executor.js';

let shared: Promise<Awaited<ReturnType<typeof acquireNodeDevice>>> | undefined;

export function testDevice(): Promise<GPUDevice> {
  shared ??= acquireNodeDevice();
  return shared.then((d) => d.device);
}

export async function testAdapterInfo(): Promise<GPUAdapterInfo> {
  shared ??= acquireNodeDevice();
  return (await shared).adapter.info;
}

export async function releaseTestDevice(): Promise<void> {
  if (shared) (await shared).release();
  shared = undefined;
}

/** Runs `graph` (whose nodes the caller built) through the real planner and executor. */
export async function runGraph(
  graph: Graph,
  input: Float32Array,
  batch: number,
  options: PlanOptions = {},
): Promise<Float32Array> {
  const device = await testDevice();
  const exec = await Executor.create(device, (b) => planGraph(graph, { ...options, batch: b }));
  try {
    return await exec.run(input, batch);
  } finally {
    exec.dispose();
  }
}

/** Counts the buffers `device` creates and destroys while `work` runs; `leaked()` names those not destroyed (yet). */
export async function trackingBuffers<T>(
  device: GPUDevice,
  work: () => Promise<T>,
): Promise<{ result: T; leaked: () => string[] }> {
  const created = new Set<GPUBuffer>();
  const destroyed = new Set<GPUBuffer>();
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    const b = create(desc);
    created.add(b);
    const destroy = b.destroy.bind(b);
    b.destroy = () => {
      destroyed.add(b);
      destroy();
    };
    return b;
  };
  try {
    const result = await work();
    return { result, leaked: () => [...created].filter((b) => !destroyed.has(b)).map((b) => b.label) };
  } finally {
    device.createBuffer = create;
  }
}
