/**
 * Compute pipelines by shader code: each distinct WGSL text is compiled once per device
 * (createComputePipelineAsync, entry point `main`, layout 'auto'); kernels that specialize to the same
 * text share one pipeline. A failed compilation is a GPUUnavailableError naming the kernel and the
 * compiler's messages, and is not cached (a later call tries again).
 */
import { GPUUnavailableError } from '../errors.js';
import { whileGPU } from './keep-alive.js';

export class PipelineCache {
  private readonly byCode = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly device: GPUDevice) {}

  /** The pipeline of `code`, compiled on first use; `label` names it in errors. */
  get(label: string, code: string): Promise<GPUComputePipeline> {
    let pipeline = this.byCode.get(code);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label, code });
      pipeline = this.device.createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint: 'main' } })
        .catch(async (err: unknown) => {
          const info = await module.getCompilationInfo?.().catch(() => undefined);
          const details = info?.messages.filter((m) => m.type === 'error').map((m) => `line ${m.lineNum}: ${m.message}`).join('; ');
          throw new GPUUnavailableError(`kernel for ${label}: pipeline creation failed: ${details || (err as Error).message}`, { cause: err });
        });
      this.byCode.set(code, pipeline);
      pipeline.catch(() => this.byCode.delete(code));
    }
    return whileGPU(pipeline);
  }

  /** Distinct pipelines compiled or being compiled. */
  get size(): number {
    return this.byCode.size;
  }
}
