/**
 * Executor: turns plans into GPU work. It asks its planner for one plan per batch size (the batch sets
 * the GEMM shapes, so the tiles and split-K factors). At creation it plans batch 1, uploads every constant
 * once and compiles every distinct shader once (createComputePipelineAsync, all in parallel); a new batch
 * size compiles only the shaders it does not share. For each batch size it lays out the activation arena
 * and records the bind groups once; each inference is then one upload, one command encoder with every
 * dispatch, one submit and one readback of the requested output.
 *
 * A plan can also come in variants (a network with some residual blocks deleted): the planner gets an
 * opaque variant key ('' = the network as loaded). Each variant's plans are built once and kept; its
 * arenas are allocated on use, and those of the least recently used variants are released (see
 * VARIANT_STATES). Variants share the constants (by name) and the pipelines (by shader code).
 */
import { GPUUnavailableError, InputError } from '../errors.js';
import type { Kernel } from '../ops/kernel.js';
import { preprocessParams, preprocessShader, preprocessWorkgroups } from '../ops/preprocess.js';
import type { Preprocessing } from '../preprocess/preprocess.js';
import { layoutArena, type ArenaLayout, type Plan } from '../plan/planner.js';
import { whileGPU } from './keep-alive.js';

const { STORAGE, COPY_DST, COPY_SRC, UNIFORM, MAP_READ } = {
  STORAGE: 0x80, COPY_DST: 0x8, COPY_SRC: 0x4, UNIFORM: 0x40, MAP_READ: 0x1,
} as const; // GPUBufferUsage, spelled out so this module does not need the global

interface BatchState {
  plan: Plan;
  pipelines: GPUComputePipeline[];
  layout: ArenaLayout;
  arena: GPUBuffer;
  params: GPUBuffer;
  bindGroups: GPUBindGroup[];
  staging: GPUBuffer;
}

/** What a run reads back: the graph's output, the logits (the input of a final softmax), or the features (the global average pool's output). */
export type OutputKind = 'output' | 'logits' | 'features';

export interface RunOptions {
  /** What to read back (default: the graph's output). */
  output?: OutputKind;
  /** The plan variant to run ('' = the network as loaded). */
  variant?: string;
  /** Runs on the CPU while the GPU works; if it throws, the result is dropped and its error is the call's. */
  whileRunning?: () => void;
}

/** Arenas kept for variants other than '' (each batch size counts once); older ones are released. */
export const VARIANT_STATES = 4;

/** GPU time of one dispatch: its kernel's label and detail, milliseconds, and floating-point operations. */
export interface ProfileStep {
  label: string;
  detail: string;
  ms: number;
  flops: number;
}

/** Plans the network (or a variant of it, by key; '' = as loaded) for a batch size. */
export type Planner = (batch: number, variant: string) => Plan;

const keyOf = (batch: number, variant: string) => `${variant}|${batch}`;
/** Whether a key is of a variant other than '' (the network as loaded). */
const ofVariant = (key: string) => !key.startsWith('|');

export class Executor {
  private readonly batches = new Map<string, BatchState>(); // by keyOf(batch, variant)
  private readonly plans = new Map<string, Plan>();
  /** largestBatch's answers, by keyOf(upTo, variant). */
  private readonly largest = new Map<string, number>();
  private readonly buffers = new Set<GPUBuffer>();
  private readonly constants = new Map<string, GPUBuffer>();
  private readonly pipelineCache = new Map<string, Promise<GPUComputePipeline>>();
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private readonly preprocessPipelines = new Map<string, Promise<GPUComputePipeline>>();
  private preprocessUniform: GPUBuffer | undefined;

  /** Set when the device is lost: every later call fails with it. */
  private lostMessage: string | undefined;

  private constructor(readonly device: GPUDevice, readonly planner: Planner) {
    device.lost.then((info) => {
      this.lostMessage = `the GPU device was lost (${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''}); load the model again, or load it with recover: true`;
    });
  }

  /** Whether the device is known to be lost. */
  get isLost(): boolean {
    return this.lostMessage !== undefined;
  }

  /** After a failure: the device-lost error if the device is (or within 200 ms turns out) lost, else `err`. */
  private async explain(err: unknown): Promise<unknown> {
    if (err instanceof InputError) return err; // the caller's mistake, not the GPU's
    if (!this.lostMessage) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await whileGPU(Promise.race([this.device.lost, new Promise((r) => { timer = setTimeout(r, 200); })]));
      clearTimeout(timer);
    }
    return this.lostMessage ? new GPUUnavailableError(this.lostMessage, { cause: err }) : err;
  }

  /** Plans batch 1, uploads its constants and compiles its pipelines. */
  static async create(device: GPUDevice, planner: Planner): Promise<Executor> {
    const executor = new Executor(device, planner);
    try {
      await executor.compile(executor.planFor(1));
      return executor;
    } catch (err) {
      executor.dispose();
      throw err;
    }
  }

  /** The plan for batch 1 (the graph, its input and outputs are the same for every batch). */
  get plan(): Plan {
    return this.planFor(1);
  }

  planFor(batch: number, variant = ''): Plan {
    const key = keyOf(batch, variant);
    let plan = this.plans.get(key);
    if (!plan) {
      plan = this.planner(batch, variant);
      this.plans.set(key, plan);
    }
    return plan;
  }

  /** Uploads the constants `plan` names that are not on the GPU yet, and compiles (or reuses) its pipelines. */
  private compile(plan: Plan): Promise<GPUComputePipeline[]> {
    const { device } = this;
    for (const step of plan.steps) {
      for (const [, r] of step.resources) {
        if (r.kind !== 'constant' || this.constants.has(r.name)) continue;
        const data = r.pack();
        const buffer = this.createBuffer({ label: r.name, size: Math.max(16, data.byteLength), usage: STORAGE | COPY_DST, mappedAtCreation: true });
        new Uint8Array(buffer.getMappedRange(), 0, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        buffer.unmap();
        this.constants.set(r.name, buffer);
      }
    }
    const pipeline = (step: Kernel) => {
      let p = this.pipelineCache.get(step.code);
      if (!p) {
        const module = device.createShaderModule({ label: step.label, code: step.code });
        p = device.createComputePipelineAsync({ label: step.label, layout: 'auto', compute: { module, entryPoint: 'main' } })
          .catch(async (err: unknown) => {
            const info = await module.getCompilationInfo?.().catch(() => undefined);
            const details = info?.messages.filter((m) => m.type === 'error').map((m) => `line ${m.lineNum}: ${m.message}`).join('; ');
            throw new GPUUnavailableError(`kernel for ${step.label}: pipeline creation failed: ${details || (err as Error).message}`, { cause: err });
          });
        this.pipelineCache.set(step.code, p);
        p.catch(() => this.pipelineCache.delete(step.code));
      }
      return p;
    };
    return whileGPU(Promise.all(plan.steps.map(pipeline)));
  }

  /** Distinct pipelines compiled so far. */
  get pipelineCount(): number {
    return this.pipelineCache.size;
  }

  /** Bytes of GPU memory this executor holds now: constants, plus arena and staging of each batch size used. */
  get gpuBytes(): number {
    let total = 0;
    for (const b of this.buffers) total += b.size;
    return total;
  }

  get constantBytes(): number {
    let total = 0;
    for (const b of this.constants.values()) total += b.size;
    return total;
  }

  /**
   * The arena layout for `batch` images (computed, not allocated). A plan made only for this question
   * (a batch size probed by largestBatch) is not kept: plans are kept for the batch sizes that run.
   */
  arenaLayout(batch: number, variant = ''): ArenaLayout {
    const key = keyOf(batch, variant);
    return this.batches.get(key)?.layout ?? layoutArena(this.plans.get(key) ?? this.planner(batch, variant), batch, this.device.limits.minStorageBufferOffsetAlignment);
  }

  /**
   * Why `batch` images do not fit this device (a tensor larger than one binding, or the arena larger than
   * one buffer), or undefined when they fit.
   */
  private overLimit(batch: number, variant: string): string | undefined {
    const layout = this.arenaLayout(batch, variant);
    const limits = this.device.limits;
    for (const [id, slot] of layout.slots) {
      if (slot.size > limits.maxStorageBufferBindingSize) {
        return `batch ${batch}: tensor ${id} needs ${slot.size} bytes, more than this device binds at once (${limits.maxStorageBufferBindingSize}); use a smaller batch`;
      }
    }
    if (layout.bytes > limits.maxBufferSize) {
      return `batch ${batch}: the activation arena needs ${layout.bytes} bytes, more than this device's maxBufferSize (${limits.maxBufferSize}); use a smaller batch`;
    }
    return undefined;
  }

  /** Whether `batch` images fit this device: every tensor within one binding, the arena within one buffer. */
  fits(batch: number, variant = ''): boolean {
    return this.overLimit(batch, variant) === undefined;
  }

  /** The largest batch, up to `upTo`, that fits this device (0 if not even one image does). */
  largestBatch(upTo: number, variant = ''): number {
    const key = keyOf(upTo, variant);
    const known = this.largest.get(key);
    if (known !== undefined) return known;
    let lo = 0, hi = upTo; // fits(lo) (or lo = 0), !fits(hi)
    if (this.fits(upTo, variant)) lo = upTo;
    else {
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (mid === 0 || this.fits(mid, variant)) lo = mid;
        else hi = mid;
      }
    }
    this.largest.set(key, lo);
    return lo;
  }

  private createBuffer(desc: GPUBufferDescriptor): GPUBuffer {
    const b = this.device.createBuffer(desc);
    this.buffers.add(b);
    return b;
  }

  private batchState(batch: number, variant: string, plan: Plan, pipelines: GPUComputePipeline[]): BatchState {
    const key = keyOf(batch, variant);
    const known = this.batches.get(key);
    if (known) return known;
    const { device } = this;
    const tooLarge = this.overLimit(batch, variant);
    if (tooLarge) throw new RangeError(tooLarge);
    const layout = this.arenaLayout(batch, variant);
    const arena = this.createBuffer({ label: `arena (batch ${batch})`, size: layout.bytes, usage: STORAGE | COPY_DST | COPY_SRC });
    const params = this.createBuffer({ label: `params (batch ${batch})`, size: 16, usage: UNIFORM | COPY_DST });
    device.queue.writeBuffer(params, 0, new Uint32Array([batch, 0, 0, 0]));
    // Large enough for any output a run reads back (a larger slot, the input, gets a temporary buffer).
    const outBytes = Math.max(...[plan.output, plan.logits, plan.features].map((t) => (t ? layout.slots.get(t)!.size : 0)));
    const staging = this.createBuffer({ label: `readback (batch ${batch})`, size: outBytes, usage: MAP_READ | COPY_DST });
    const bindGroups = plan.steps.map((step, i) => device.createBindGroup({
      label: step.label,
      layout: pipelines[i]!.getBindGroupLayout(0),
      entries: step.resources.map(([binding, r]) => {
        if (r.kind === 'params') return { binding, resource: { buffer: params } };
        if (r.kind === 'constant') return { binding, resource: { buffer: this.constants.get(r.name)! } };
        const slot = layout.slots.get(r.id)!;
        return { binding, resource: { buffer: arena, offset: slot.offset, size: slot.size } };
      }),
    }));
    const state = { plan, pipelines, layout, arena, params, bindGroups, staging };
    this.batches.set(key, state);
    // Release the least recently used variants' arenas beyond VARIANT_STATES (runs are queued, so none is in flight).
    const variants = [...this.batches.keys()].filter(ofVariant);
    for (const old of variants.slice(0, Math.max(0, variants.length - VARIANT_STATES))) this.forget(old);
    return state;
  }

  /** Queues `work`: one call at a time owns the arena and the staging buffer. */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(async () => {
      if (this.disposed) throw new Error('the model was disposed');
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

  /**
   * The plan, pipelines, buffers and bind groups for `batch`, created on first use; allocation failures
   * become a clear error.
   */
  private async prepare(batch: number, variant = ''): Promise<BatchState> {
    const key = keyOf(batch, variant);
    const known = this.batches.get(key);
    if (known) {
      this.batches.delete(key); // most recently used last
      this.batches.set(key, known);
      return known;
    }
    const { device } = this;
    const plan = this.planFor(batch, variant);
    const pipelines = await this.compile(plan);
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    try {
      return this.batchState(batch, variant, plan, pipelines);
    } finally {
      const oom = device.popErrorScope();
      const invalid = device.popErrorScope();
      const [e1, e2] = await whileGPU(Promise.all([oom, invalid]));
      if (e1 || e2) {
        this.forget(key);
        const what = e1 ? 'out of GPU memory' : 'invalid GPU resources';
        throw new GPUUnavailableError(`batch ${batch}: could not prepare the run (${what}): ${(e1 ?? e2)!.message}`);
      }
    }
  }

  /** Every step of the network, in order, into one compute pass. */
  private encodeNetwork(pass: GPUComputePassEncoder, state: BatchState, batch: number): void {
    state.plan.steps.forEach((step, i) => {
      pass.setPipeline(state.pipelines[i]!);
      pass.setBindGroup(0, state.bindGroups[i]!);
      pass.dispatchWorkgroups(...step.workgroups(batch));
    });
  }

  /** The arena slot a run reads: the graph's output, the logits, or the input tensor. */
  private slotOf(state: BatchState, what: OutputKind | 'input'): { offset: number; size: number } {
    const { plan } = state;
    const id = what === 'input' ? plan.input : what === 'output' ? plan.output : plan[what];
    if (!id) throw new Error(what === 'logits' ? `output 'logits' needs a graph that ends in softmax` : `output 'features' needs a graph with a global average pool`);
    return state.layout.slots.get(id)!;
  }

  /**
   * Copies `slot` out (into the caller's buffer, or the staging buffer, or a temporary one when the slot
   * is larger), submits `encoder` with validation errors caught, and reads the result back unless `into`.
   * `whileRunning` runs on the CPU while the GPU works; if it throws, the result is dropped (after the
   * GPU is done with the buffers) and its error is the call's.
   */
  private async finish(encoder: GPUCommandEncoder, state: BatchState, slot: { offset: number; size: number }, what: string, into?: { buffer: GPUBuffer; offset?: number }, whileRunning?: () => void): Promise<Float32Array | undefined> {
    const { device } = this;
    const temp = !into && slot.size > state.staging.size ? device.createBuffer({ label: 'readback', size: slot.size, usage: MAP_READ | COPY_DST }) : undefined;
    const read = temp ?? state.staging;
    encoder.copyBufferToBuffer(state.arena, slot.offset, into?.buffer ?? read, into?.offset ?? 0, slot.size);
    device.pushErrorScope('validation');
    device.queue.submit([encoder.finish()]);
    const error = device.popErrorScope().then((e) => {
      if (e) throw new GPUUnavailableError(`${what} failed: ${e.message}`);
    });
    const done: Promise<unknown> = into ? error : Promise.all([read.mapAsync(1 /* GPUMapMode.READ */, 0, slot.size), error]);
    try {
      try {
        whileRunning?.();
      } catch (err) {
        await whileGPU(done).catch(() => undefined);
        if (!into && read.mapState === 'mapped') read.unmap();
        throw err;
      }
      await whileGPU(done);
      if (into) return undefined;
      const result = new Float32Array(read.getMappedRange(0, slot.size).slice(0));
      read.unmap();
      return result;
    } finally {
      temp?.destroy();
    }
  }

  /**
   * Runs `batch` images of NHWC input (already preprocessed) and returns the requested output: the
   * graph's output, the logits (for a graph ending in softmax: its input) or the features.
   */
  run(input: Float32Array, batch: number, options: RunOptions = {}): Promise<Float32Array> {
    const { output = 'output', variant = '', whileRunning } = options;
    return this.enqueue(async () => {
      const state = await this.prepare(batch, variant);
      this.upload(state, input);
      const slot = this.slotOf(state, output);
      const encoder = this.device.createCommandEncoder({ label: 'inference' });
      const pass = encoder.beginComputePass({ label: 'resnet' });
      this.encodeNetwork(pass, state, batch);
      pass.end();
      return (await this.finish(encoder, state, slot, 'inference', undefined, whileRunning))!;
    });
  }

  /**
   * Per-dispatch GPU time in milliseconds for `batch` images (needs the 'timestamp-query' feature): each
   * step runs in its own compute pass with timestamps at its start and end. The output is not read.
   */
  profile(input: Float32Array, batch: number, variant = ''): Promise<ProfileStep[]> {
    return this.enqueue(async () => {
      const { device } = this;
      if (!device.features.has('timestamp-query')) throw new Error("profiling needs the adapter feature 'timestamp-query'");
      const state = await this.prepare(batch, variant);
      const { plan } = state;
      this.upload(state, input);
      const n = plan.steps.length;
      const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * n });
      const resolve = device.createBuffer({ size: 16 * n, usage: 0x200 /* QUERY_RESOLVE */ | COPY_SRC });
      const read = device.createBuffer({ size: 16 * n, usage: MAP_READ | COPY_DST });
      try {
        const encoder = device.createCommandEncoder({ label: 'profile' });
        plan.steps.forEach((step, i) => {
          const pass = encoder.beginComputePass({ label: step.label, timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
          pass.setPipeline(state.pipelines[i]!);
          pass.setBindGroup(0, state.bindGroups[i]!);
          pass.dispatchWorkgroups(...step.workgroups(batch));
          pass.end();
        });
        encoder.resolveQuerySet(querySet, 0, 2 * n, resolve, 0);
        encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
        device.queue.submit([encoder.finish()]);
        await whileGPU(read.mapAsync(1));
        const t = new BigUint64Array(read.getMappedRange().slice(0));
        read.unmap();
        return plan.steps.map((step, i) => ({ label: step.label, detail: step.detail ?? '', ms: Number(t[2 * i + 1]! - t[2 * i]!) / 1e6, flops: step.flopsPerImage * batch }));
      } finally {
        querySet.destroy();
        resolve.destroy();
        read.destroy();
      }
    });
  }

  /**
   * One image from an rgba8unorm texture (TEXTURE_BINDING usage): the preprocessing kernel resizes, crops
   * and normalizes it on the GPU straight into the input slot, then the network runs. Returns the
   * requested output, or with `into`, copies it into that buffer (COPY_DST usage) and reads nothing back.
   * `output: 'input'` returns the preprocessed input tensor itself.
   */
  runTexture(texture: GPUTexture, spec: Preprocessing, output: OutputKind | 'input', into?: { buffer: GPUBuffer; offset?: number }, variant = ''): Promise<Float32Array | undefined> {
    return this.enqueue(async () => {
      const { device } = this;
      const code = preprocessShader(spec);
      let pipeline = this.preprocessPipelines.get(code);
      if (!pipeline) {
        pipeline = device.createComputePipelineAsync({ label: 'preprocess', layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
        this.preprocessPipelines.set(code, pipeline);
      }
      const state = await this.prepare(1, variant);
      this.preprocessUniform ??= this.createBuffer({ label: 'preprocess params', size: 64, usage: UNIFORM | COPY_DST });
      device.queue.writeBuffer(this.preprocessUniform, 0, preprocessParams(spec, texture.width, texture.height));
      const input = this.slotOf(state, 'input');
      const p = await whileGPU(pipeline);
      const encoder = device.createCommandEncoder({ label: 'inference from texture' });
      const pass = encoder.beginComputePass({ label: 'resnet' });
      pass.setPipeline(p);
      pass.setBindGroup(0, device.createBindGroup({
        layout: p.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: texture.createView() },
          { binding: 1, resource: { buffer: this.preprocessUniform } },
          { binding: 2, resource: { buffer: state.arena, offset: input.offset, size: input.size } },
        ],
      }));
      pass.dispatchWorkgroups(...preprocessWorkgroups(spec));
      if (output !== 'input') this.encodeNetwork(pass, state, 1);
      pass.end();
      return this.finish(encoder, state, this.slotOf(state, output), output === 'input' ? 'preprocessing' : 'inference from a texture', into);
    });
  }

  /** Writes the input tensor into its arena slot (a copy first where it lives in a SharedArrayBuffer, which Dawn cannot take). */
  private upload(state: BatchState, input: Float32Array): void {
    const slot = state.layout.slots.get(state.plan.input)!;
    const data = input.buffer instanceof ArrayBuffer ? input : new Float32Array(input);
    this.device.queue.writeBuffer(state.arena, slot.offset, data.buffer, data.byteOffset, slot.size);
  }

  /** Releases the arena, params and staging buffers of one batch state. */
  private forget(key: string): void {
    const state = this.batches.get(key);
    if (!state) return;
    for (const b of [state.arena, state.params, state.staging]) {
      b.destroy();
      this.buffers.delete(b);
    }
    this.batches.delete(key);
  }

  /** Destroys every GPU buffer this executor created. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.buffers) b.destroy();
    this.buffers.clear();
    this.constants.clear();
    this.batches.clear();
  }
}
