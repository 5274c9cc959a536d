/**
 * The GPU copies of a network's constants (packed weights and biases), by name: each uploaded once, when
 * a plan first names it; plans for other batch sizes and variants name the same constants and share them.
 * After loading the store is sealed: the model releases its JS weights (src/api/create.ts), so a plan that
 * named a constant never uploaded would be an internal error, not a silent upload of nothing. With
 * `kept` (recover: true), the packed bytes stay in memory, so an executor on a new device uploads them
 * again without the weights.
 */
import type { Plan } from '../plan/planner.js';
import { BUFFER } from './usage.js';

/** Packed constants kept on the CPU for recovery, by name. */
export type KeptConstants = Map<string, Float32Array | Uint32Array>;

/** Stores holding each buffer: a buffer adopted by another store (a model sharing weights) lives until the last lets
 * go. */
const holders = new WeakMap<GPUBuffer, number>();

export class ConstantStore {
  private readonly buffers = new Map<string, GPUBuffer>();
  private sealed = false;

  constructor(
    private readonly device: GPUDevice,
    private readonly kept?: KeptConstants,
  ) {}

  /** Packs and uploads every constant `plan` names that is not on the GPU yet. */
  upload(plan: Plan): void {
    for (const step of plan.steps) {
      for (const [, r] of step.resources) {
        if (r.kind !== 'constant' || this.buffers.has(r.name)) continue;
        let data = this.kept?.get(r.name);
        if (!data) {
          if (this.sealed)
            throw new Error(
              `constant ${r.name} was not uploaded at load, and the weights it is packed from are released`,
            );
          data = r.pack();
          this.kept?.set(r.name, data);
        }
        const buffer = this.device.createBuffer({
          label: r.name,
          size: Math.max(16, data.byteLength),
          usage: BUFFER.STORAGE | BUFFER.COPY_DST,
          mappedAtCreation: true,
        });
        new Uint8Array(buffer.getMappedRange(), 0, data.byteLength).set(
          new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        );
        buffer.unmap();
        holders.set(buffer, 1);
        this.buffers.set(r.name, buffer);
      }
    }
  }

  /** Shares every constant of `other` (a model with another head shares the network's weights). */
  adopt(other: ConstantStore): void {
    for (const [name, buffer] of other.buffers) {
      if (this.buffers.has(name)) continue;
      holders.set(buffer, (holders.get(buffer) ?? 1) + 1);
      this.buffers.set(name, buffer);
    }
  }

  /** No more packing from weights: every constant a plan may name is on the GPU (or kept). */
  seal(): void {
    this.sealed = true;
  }

  /** The buffer of an uploaded constant. */
  get(name: string): GPUBuffer {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`constant ${name} was never uploaded`);
    return b;
  }

  /** Bytes of the buffers this store holds (shared ones counted by every holder). */
  get bytes(): number {
    let total = 0;
    for (const b of this.buffers.values()) total += b.size;
    return total;
  }

  /** Lets go of every buffer; a buffer no other store holds is destroyed. */
  destroy(): void {
    for (const b of this.buffers.values()) {
      const left = (holders.get(b) ?? 1) - 1;
      holders.set(b, left);
      if (left <= 0) b.destroy();
    }
    this.buffers.clear();
  }
}
