/**
 * Compute pipelines by shader key (src/kernels/shader.ts): each distinct shader is compiled once
 * (createComputePipelineAsync, entry point `main`, layout 'auto'), its code generated then, and shared
 * by every cache made with `sharing()` (one device: a model, the autotune's executors, a model with
 * another head); kernels that specialize to the same shader share one pipeline. A failed compilation is
 * a GPUUnavailableError naming the kernel and the compiler's messages, and is not cached (a later call
 * tries again).
 */
import { GPUUnavailableError } from '../errors.js';
import type { Shader } from '../kernels/shader.js';
import { whileGPU } from './keep-alive.js';

export class PipelineCache {
  /** Keys this cache was asked for (its size), whoever compiled them. */
  private readonly used = new Set<string>();

  /** `byKey`: compiled pipelines, shared by the caches made with `sharing()`. */
  constructor(
    private readonly device: GPUDevice,
    private readonly byKey = new Map<string, Promise<GPUComputePipeline>>(),
  ) {}

  /** A cache that reuses this one's pipelines and adds to them (the autotune's executors, a model with another head).
   * */
  sharing(): PipelineCache {
    return new PipelineCache(this.device, this.byKey);
  }

  /** The pipeline of `shader`, compiled on first use (by this cache or one sharing it); `label` names it in errors. */
  get(label: string, shader: Shader): Promise<GPUComputePipeline> {
    this.used.add(shader.key);
    let pipeline = this.byKey.get(shader.key);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label, code: shader.code() });
      pipeline = this.device
        .createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint: 'main' } })
        .catch(async (err: unknown) => {
          const info = await module.getCompilationInfo?.().catch(() => undefined);
          const details = info?.messages
            .filter((m) => m.type === 'error')
            .map((m) => `line ${m.lineNum}: ${m.message}`)
            .join('; ');
          throw new GPUUnavailableError(
            `kernel for ${label}: pipeline creation failed: ${details || (err as Error).message}`,
            { cause: err },
          );
        });
      this.byKey.set(shader.key, pipeline);
      pipeline.catch(() => this.byKey.delete(shader.key));
    }
    return whileGPU(pipeline);
  }

  /** Distinct pipelines asked of this cache. */
  get size(): number {
    return this.used.size;
  }
}
