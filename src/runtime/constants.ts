/**
 * The GPU copies of a network's constants (packed weights and biases), by name: each uploaded once, when
 * a plan first names it; plans for other batch sizes and variants name the same constants and share them.
 */
import type { Plan } from '../plan/planner.js';
import { BUFFER } from './usage.js';

export class ConstantStore {
  private readonly buffers = new Map<string, GPUBuffer>();

  constructor(private readonly device: GPUDevice) {}

  /** Packs and uploads every constant `plan` names that is not on the GPU yet. */
  upload(plan: Plan): void {
    for (const step of plan.steps) {
      for (const [, r] of step.resources) {
        if (r.kind !== 'constant' || this.buffers.has(r.name)) continue;
        const data = r.pack();
        const buffer = this.device.createBuffer({ label: r.name, size: Math.max(16, data.byteLength), usage: BUFFER.STORAGE | BUFFER.COPY_DST, mappedAtCreation: true });
        new Uint8Array(buffer.getMappedRange(), 0, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        buffer.unmap();
        this.buffers.set(r.name, buffer);
      }
    }
  }

  /** The buffer of an uploaded constant. */
  get(name: string): GPUBuffer {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`constant ${name} was never uploaded`);
    return b;
  }

  get bytes(): number {
    let total = 0;
    for (const b of this.buffers.values()) total += b.size;
    return total;
  }

  destroy(): void {
    for (const b of this.buffers.values()) b.destroy();
    this.buffers.clear();
  }
}
