/**
 * The GPU helpers the executor and the trainer share: storage buffers, bind groups from a kernel's binding
 * table, and reading a buffer back (mapped, copied out, unmapped; Dawn's mapAsync kept alive in Node).
 */
import type { KernelInterface } from '../kernels/bindings.js';
import { whileGPU } from './keep-alive.js';
import { BUFFER, MAP_MODE_READ } from './usage.js';

/** A storage buffer (also a copy source and destination) of `data`'s bytes, or of `data` bytes of zeros. */
export function storageBuffer(device: GPUDevice, label: string, data: ArrayBufferView | number): GPUBuffer {
  const size = typeof data === 'number' ? data : data.byteLength;
  const usage = BUFFER.STORAGE | BUFFER.COPY_DST | BUFFER.COPY_SRC;
  const buffer = device.createBuffer({ label, size: Math.max(16, Math.ceil(size / 4) * 4), usage });
  if (typeof data !== 'number') device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/** What a binding holds: a whole buffer, a range of one, or a texture's view. */
export type BoundResource = GPUBuffer | GPUBufferBinding | GPUTextureView;

/** A bind group of `pipeline` binding each named resource at its number in `table`. */
export function bindGroupOf<N extends string>(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  table: KernelInterface<N>,
  resources: Partial<Record<N, BoundResource>>,
  label?: string,
): GPUBindGroup {
  const entries = (Object.entries(resources) as Array<[N, BoundResource]>).map(([name, r]) => ({
    binding: table[name].binding,
    resource: 'buffer' in r ? r : 'size' in r ? { buffer: r } : r,
  }));
  return device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
}

/** The bytes [offset, offset + size) of a MAP_READ buffer once the GPU is done with it: mapped, copied, unmapped. */
export async function mapRead(buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
  await whileGPU(buffer.mapAsync(MAP_MODE_READ, offset, size));
  try {
    return buffer.getMappedRange(offset, size).slice(0);
  } finally {
    buffer.unmap();
  }
}

/** Reads `size` bytes of any COPY_SRC buffer from `offset`, through a temporary buffer. */
export async function readBuffer(
  device: GPUDevice,
  source: GPUBuffer,
  offset: number,
  size: number,
): Promise<ArrayBuffer> {
  const read = device.createBuffer({ label: 'readback', size, usage: BUFFER.MAP_READ | BUFFER.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(source, offset, read, 0, size);
    device.queue.submit([encoder.finish()]);
    return await mapRead(read, 0, size);
  } finally {
    read.destroy();
  }
}
