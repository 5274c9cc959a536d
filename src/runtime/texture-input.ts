/**
 * The GPU preprocessing step of a texture run (shaders/preprocess.wgsl through src/kernels/preprocess.ts):
 * its pipeline (one per preprocessing spec, from the executor's PipelineCache), its uniform buffer, and a
 * dispatch that resizes, crops and normalizes a texture straight into the input slot of an arena.
 */
import {
  PREPROCESS_BINDINGS,
  PREPROCESS_PARAMS_BYTES,
  preprocessParams,
  preprocessShader,
  preprocessWorkgroups,
} from '../kernels/preprocess.js';
import { CENTER_VIEW, type CropView, type Preprocessing } from '../preprocess/preprocess.js';
import { shader } from '../kernels/shader.js';
import { bindGroupOf } from './buffers.js';
import type { PipelineCache } from './pipelines.js';
import { BUFFER } from './usage.js';

export class TextureInput {
  private uniform: GPUBuffer | undefined;

  constructor(
    private readonly device: GPUDevice,
    private readonly pipelines: PipelineCache,
  ) {}

  /** Bytes it holds on the GPU. */
  get bytes(): number {
    return this.uniform?.size ?? 0;
  }

  /** Prepares the preprocessing of `texture` (its crop `view`) into `slot` of `arena`; returns what dispatches it into
   * a pass. */
  async prepare(
    texture: GPUTexture,
    spec: Preprocessing,
    arena: GPUBuffer,
    slot: { offset: number; size: number },
    view: CropView = CENTER_VIEW,
  ): Promise<(pass: GPUComputePassEncoder) => void> {
    const { device } = this;
    const srgb = texture.format.endsWith('-srgb');
    const pipeline = await this.pipelines.get(
      'preprocess',
      shader(
        'preprocess',
        { crop: spec.cropTo, scale: spec.scale, order: spec.order, srgb, filter: spec.interpolation ?? 'bilinear' },
        () => preprocessShader(spec, srgb),
      ),
    );
    this.uniform ??= device.createBuffer({
      label: 'preprocess params',
      size: PREPROCESS_PARAMS_BYTES,
      usage: BUFFER.UNIFORM | BUFFER.COPY_DST,
    });
    device.queue.writeBuffer(this.uniform, 0, preprocessParams(spec, texture.width, texture.height, view));
    const bindGroup = bindGroupOf(device, pipeline, PREPROCESS_BINDINGS, {
      source: texture.createView(),
      resize: { buffer: this.uniform },
      output: { buffer: arena, offset: slot.offset, size: slot.size },
    });
    return (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...preprocessWorkgroups(spec));
    };
  }

  destroy(): void {
    this.uniform?.destroy();
    this.uniform = undefined;
  }
}
