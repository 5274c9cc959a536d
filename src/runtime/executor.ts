/**
 * Executor: runs plans on one device. Its parts: a PlanCache (plans and layouts per variant and batch,
 * device-limit answers), a ConstantStore (weights, uploaded once), a PipelineCache (one pipeline per
 * distinct shader) and BatchStates (per variant and batch size used: arena, params, readback, bind groups,
 * recorded once). What it does itself: one call at a time (a queue), each call one upload, one command
 * encoder with every dispatch, one submit and one readback of the requested output; and when the device is
 * lost, every pending and later call fails saying so.
 */
import { GPUUnavailableError, InputError } from '../errors.js';
import type { ArenaLayout } from '../plan/arena.js';
import { INTACT, PlanCache, type Planner, type Variant } from '../plan/plan-cache.js';
import { CENTER_VIEW, type Preprocessing } from '../preprocess/preprocess.js';
import { type BatchState, BatchStates, createBatchState, destroyBatchState } from './batch-state.js';
import { mapRead } from './buffers.js';
import { ConstantStore, type KeptConstants } from './constants.js';
import { whileGPU } from './keep-alive.js';
import { PipelineCache } from './pipelines.js';
import { encodeSteps, profileSteps } from './profile.js';
import type { OutputKind, OutputTarget, ProfileStep, RunOptions } from './run-types.js';
import { TextureInput } from './texture-input.js';
import { BUFFER } from './usage.js';

export type { OutputKind, OutputTarget, ProfileStep, RunOptions } from './run-types.js';

export class Executor {
  readonly plans: PlanCache;
  private readonly constants: ConstantStore;
  private readonly pipelines: PipelineCache;
  private readonly states = new BatchStates();
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private readonly textureInput: TextureInput;
  /** Set when the device is lost: every later call fails with it. */
  private lostMessage: string | undefined;

  private constructor(
    readonly device: GPUDevice,
    planner: Planner,
    readonly kept?: KeptConstants,
    pipelines?: PipelineCache,
  ) {
    this.plans = new PlanCache(planner, device.limits);
    this.constants = new ConstantStore(device, kept);
    this.pipelines = pipelines ?? new PipelineCache(device);
    this.textureInput = new TextureInput(device, this.pipelines);
    device.lost.then((info) => {
      const why = `${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''}`;
      this.lostMessage = `the GPU device was lost (${why}); load the model again, or load it with recover: true`;
    });
  }

  /**
   * Plans batch 1 of the intact network, uploads its constants (from `kept` where given, else packing them,
   * and keeping the packed bytes in `kept`) and compiles its pipelines. Then no constant is packed again:
   * the caller may release the weights (every other plan names the same constants). With `sharing`, the
   * constants and compiled pipelines that executor holds are shared, not made again (a model with another
   * head, the autotune's executors). Plans are made for this device's limits.
   */
  static async create(
    device: GPUDevice,
    planner: Planner,
    kept?: KeptConstants,
    sharing?: Executor,
  ): Promise<Executor> {
    if (sharing && sharing.device !== device) {
      throw new Error('an executor shares constants and pipelines only on its own device');
    }
    const executor = new Executor(device, planner, kept, sharing?.pipelines.sharing());
    if (sharing) executor.constants.adopt(sharing.constants);
    try {
      await executor.compile(1, INTACT);
      executor.constants.seal();
      return executor;
    } catch (err) {
      executor.dispose();
      throw err;
    }
  }

  get planner(): Planner {
    return this.plans.planner;
  }

  /** Whether the device is known to be lost. */
  get isLost(): boolean {
    return this.lostMessage !== undefined;
  }

  /** Distinct pipelines compiled so far. */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  get constantBytes(): number {
    return this.constants.bytes;
  }

  /** Bytes of GPU memory held now: constants, plus arena, params and readback of each state kept. */
  get gpuBytes(): number {
    return this.constants.bytes + this.textureInput.bytes + this.states.bytes;
  }

  /** The arena layout for `batch` images (computed, not allocated). */
  arenaLayout(batch: number, variant = INTACT): ArenaLayout {
    return this.plans.layout(batch, variant);
  }

  /** The largest batch, up to `upTo`, that fits this device (0 if not even one image does). */
  largestBatch(upTo: number, variant = INTACT): number {
    return this.plans.largestBatch(upTo, variant);
  }

  /** Uploads the constants of the plan for `batch` and compiles (or reuses) its pipelines. */
  private compile(batch: number, variant: Variant): Promise<GPUComputePipeline[]> {
    const { plan } = this.plans.get(batch, variant);
    this.constants.upload(plan);
    return Promise.all(plan.steps.map((step) => this.pipelines.get(step.label, step.shader)));
  }

  /** After a failure: the device-lost error if the device is (or within 200 ms turns out) lost, else `err`. */
  private async explain(err: unknown): Promise<unknown> {
    if (err instanceof InputError) return err; // the caller's mistake, not the GPU's
    if (!this.lostMessage) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wait = new Promise((r) => {
        timer = setTimeout(r, 200);
      });
      await whileGPU(Promise.race([this.device.lost, wait]));
      clearTimeout(timer);
    }
    return this.lostMessage ? new GPUUnavailableError(this.lostMessage, { cause: err }) : err;
  }

  /** Queues `work`: one call at a time owns the arena and the readback buffer. */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(async () => {
      if (this.disposed) throw new InputError('this model was disposed; load a new one with loadResNet()');
      if (this.lostMessage) throw new GPUUnavailableError(this.lostMessage);
      try {
        return await work();
      } catch (err) {
        throw await this.explain(err);
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The state for `batch` images of `variant`, made on first use (allocation failures become a clear error). */
  private async prepare(batch: number, variant: Variant): Promise<BatchState> {
    const known = this.states.get(batch, variant);
    if (known) return known;
    const tooLarge = this.plans.overLimit(batch, variant);
    if (tooLarge) throw new GPUUnavailableError(tooLarge);
    const pipelines = await this.compile(batch, variant);
    const { plan, layout } = this.plans.get(batch, variant);
    const { device } = this;
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    const state = createBatchState(device, batch, plan, layout, pipelines, this.constants);
    const [oom, invalid] = await whileGPU(Promise.all([device.popErrorScope(), device.popErrorScope()]));
    if (oom || invalid) {
      destroyBatchState(state);
      const why = oom ? 'out of GPU memory' : 'invalid GPU resources';
      throw new GPUUnavailableError(`batch ${batch}: could not prepare the run (${why}): ${(oom ?? invalid)!.message}`);
    }
    this.states.add(batch, variant, state);
    return state;
  }

  /** The arena slot of a run's output, or of the input tensor. */
  private slotOf(state: BatchState, what: OutputKind | 'input'): { offset: number; size: number } {
    const id = what === 'input' ? state.plan.input : state.plan.outputs[what];
    if (!id) throw new Error(`this plan has no output '${what}'`); // the model checks outputs before a run
    return state.layout.slots.get(id)!;
  }

  /**
   * Copies `slot` out (into the caller's buffer, or the readback buffer, or a temporary one when the slot
   * is larger), submits `encoder` with validation errors caught, and reads the result back unless `into`.
   * `whileRunning` runs on the CPU while the GPU works; if it throws, the result is dropped (after the
   * GPU is done with the buffers) and its error is the call's.
   */
  private async finish(
    encoder: GPUCommandEncoder,
    state: BatchState,
    slot: { offset: number; size: number },
    what: string,
    options: { into?: OutputTarget; whileRunning?: () => void } = {},
  ): Promise<Float32Array | undefined> {
    const { device } = this;
    const { into, whileRunning } = options;
    const usage = BUFFER.MAP_READ | BUFFER.COPY_DST;
    const large = !into && slot.size > state.staging.size;
    const temp = large ? device.createBuffer({ label: 'readback', size: slot.size, usage }) : undefined;
    const read = temp ?? state.staging;
    encoder.copyBufferToBuffer(state.arena, slot.offset, into?.buffer ?? read, into?.offset ?? 0, slot.size);
    device.pushErrorScope('validation');
    device.queue.submit([encoder.finish()]);
    const error = device.popErrorScope().then((e) => {
      if (e) throw new GPUUnavailableError(`${what} failed: ${e.message}`);
    });
    const done = Promise.all([into ? undefined : mapRead(read, 0, slot.size), error]);
    try {
      try {
        whileRunning?.();
      } catch (err) {
        await whileGPU(done).catch(() => undefined);
        throw err;
      }
      const [bytes] = await whileGPU(done);
      return bytes && new Float32Array(bytes);
    } finally {
      temp?.destroy();
    }
  }

  /** Writes the input tensor into its arena slot (a copy first where it lives in a SharedArrayBuffer, which Dawn
   * cannot take). */
  private upload(state: BatchState, input: Float32Array): void {
    const slot = this.slotOf(state, 'input');
    const data = input.buffer instanceof ArrayBuffer ? input : new Float32Array(input);
    this.device.queue.writeBuffer(state.arena, slot.offset, data.buffer, data.byteOffset, slot.size);
  }

  /** Runs `batch` images of NHWC input (already preprocessed) and returns the requested output. */
  run(input: Float32Array, batch: number, options: RunOptions & { into: OutputTarget }): Promise<undefined>;
  run(input: Float32Array, batch: number, options?: RunOptions): Promise<Float32Array>;
  run(input: Float32Array, batch: number, options: RunOptions = {}): Promise<Float32Array | undefined> {
    const { output = 'probabilities', variant = INTACT } = options;
    return this.enqueue(async () => {
      const state = await this.prepare(batch, variant);
      this.upload(state, input);
      const encoder = this.device.createCommandEncoder({ label: 'inference' });
      encodeSteps(this.device, encoder, state, batch);
      return this.finish(encoder, state, this.slotOf(state, output), 'inference', options);
    });
  }

  /**
   * GPU time of each dispatch for `batch` images (needs the 'timestamp-query' feature): the normal
   * encoding with each step in its own pass, timestamps at its start and end. The output is not read.
   */
  profile(input: Float32Array, batch: number, variant = INTACT): Promise<ProfileStep[]> {
    return this.enqueue(async () => {
      if (!this.device.features.has('timestamp-query')) {
        throw new GPUUnavailableError(
          "profiling needs the adapter feature 'timestamp-query', which this adapter does not offer",
        );
      }
      const state = await this.prepare(batch, variant);
      this.upload(state, input);
      return profileSteps(this.device, state, batch);
    });
  }

  /**
   * One image from an rgba8unorm texture (TEXTURE_BINDING usage): the preprocessing kernel resizes, crops
   * and normalizes it on the GPU straight into the input slot, then the network runs. Returns the
   * requested output, or with `into`, copies it into that buffer and reads nothing back. `output: 'input'`
   * returns the preprocessed input tensor itself. `view`: the crop (default the center), see CropView.
   */
  runTexture(
    texture: GPUTexture,
    spec: Preprocessing,
    output: OutputKind | 'input',
    into?: OutputTarget,
    variant = INTACT,
    view = CENTER_VIEW,
  ): Promise<Float32Array | undefined> {
    return this.enqueue(async () => {
      const state = await this.prepare(1, variant);
      const preprocess = await this.textureInput.prepare(texture, spec, state.arena, this.slotOf(state, 'input'), view);
      const encoder = this.device.createCommandEncoder({ label: 'inference from texture' });
      if (output === 'input') {
        const pass = encoder.beginComputePass({ label: 'preprocess' });
        preprocess(pass);
        pass.end();
      } else {
        encodeSteps(this.device, encoder, state, 1, { before: preprocess });
      }
      const what = output === 'input' ? 'preprocessing' : 'inference from a texture';
      return this.finish(encoder, state, this.slotOf(state, output), what, { into });
    });
  }

  /** Destroys every arena (and its batch state); constants and pipelines stay, and the next call makes its arena
   * again. */
  releaseArenas(): void {
    this.states.release();
  }

  /** Destroys every GPU buffer this executor created. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.states.release();
    this.constants.destroy();
    this.textureInput.destroy();
  }
}
