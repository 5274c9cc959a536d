/**
 * The public model: graph -> plan -> executor, plus image preprocessing and labels. Platform-neutral:
 * the Node and browser entries supply the GPU device, image decoding and default weights.
 */
import { InputError, ResNetError } from './errors.js';
import type { Graph } from './graph/ir.js';
import type { Precision } from './load.js';
import { optimize, type OptimizeReport } from './graph/passes.js';
import { planWithinMemory } from './plan/planner.js';
import { CAFFE_PREPROCESSING, preprocessImage, type Preprocessing, type RawImage } from './preprocess/preprocess.js';
import { Executor, type ProfileStep } from './runtime/executor.js';
import { convStrategyFor, describeAdapter } from './runtime/device.js';

/**
 * Index of the first NaN or ±Infinity in `a`, or -1. x * 0 is NaN exactly for those, so four running sums
 * of x * 0 (independent, so the CPU overlaps them) stay 0 for finite data; only then is the index looked for.
 */
export function firstNonFinite(a: Float32Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n4 = a.length - (a.length % 4);
  for (let i = 0; i < n4; i += 4) {
    s0 += a[i]! * 0;
    s1 += a[i + 1]! * 0;
    s2 += a[i + 2]! * 0;
    s3 += a[i + 3]! * 0;
  }
  for (let i = n4; i < a.length; i++) s0 += a[i]! * 0;
  return s0 + s1 + s2 + s3 === 0 ? -1 : a.findIndex((v) => !Number.isFinite(v));
}

export interface Prediction {
  /** Class index (0-999 for ImageNet). */
  index: number;
  label: string;
  probability: number;
}

export interface InferOptions {
  /** Number of images in `input` (default 1). */
  batch?: number;
  /** Memory order of `input`: NHWC (default, what the engine runs) or NCHW (PyTorch's). */
  layout?: 'nhwc' | 'nchw';
  /** What to return: softmax probabilities (default) or the logits before the softmax. */
  output?: 'probabilities' | 'logits';
}

export interface ModelInfo {
  name: string;
  adapter: string;
  inputShape: [number, number, number];
  classes: number;
  /** Bytes of weights on the GPU, and of the activation arena for one image. */
  weightBytes: number;
  arenaBytesBatch1: number;
  pipelines: number;
  dispatches: number;
  /** How convolutions run on this adapter: 'tiled' (GPUs) or 'simd' (CPU adapters). */
  convStrategy: 'tiled' | 'simd';
  /** How conv weights are stored: 'f32' or 'f16' (see LoadOptions.precision). */
  precision: Precision;
  passes: OptimizeReport;
}

export interface ModelInit {
  graph: Graph;
  device: GPUDevice;
  adapter?: GPUAdapter;
  labels?: readonly string[];
  preprocessing?: Preprocessing;
  precision?: Precision;
  /**
   * Recovery from a lost device: a new device (and its release) for the next call after the loss.
   * Given by the entries for `recover: true` when the engine owns the device.
   */
  recreate?: () => Promise<{ device: GPUDevice; adapter?: GPUAdapter; release?: () => void }>;
  /** Called by dispose() after the GPU buffers are destroyed (e.g. to release a device the engine created). */
  release?: () => void;
}

/** Turns whatever a platform accepts as an image into pixels. */
export type ImageDecoder<I> = (image: I) => Promise<RawImage>;

export class ResNetModel<I = never> {
  readonly info: ModelInfo;
  readonly preprocessing: Preprocessing;
  private disposed = false;

  private recovering: Promise<Executor> | undefined;

  private constructor(
    private executor: Executor,
    private readonly decode: ImageDecoder<I>,
    readonly labels: readonly string[],
    private release: (() => void) | undefined,
    info: ModelInfo,
    preprocessing: Preprocessing,
    private readonly recreate: ModelInit['recreate'],
  ) {
    this.info = info;
    this.preprocessing = preprocessing;
  }

  /**
   * Resolves when the model's current GPU device is lost (a driver reset, the device destroyed, ...). Calls
   * pending then reject with a GPUUnavailableError saying so; later calls do too, unless the model was
   * loaded with `recover: true`: then the next call builds the model again on a new device.
   */
  get lost(): Promise<{ reason: string; message: string }> {
    return this.executor.device.lost.then((info) => ({ reason: info.reason ?? 'unknown', message: info.message }));
  }

  /** The executor to run on: with recovery, a new one on a new device once the current device is lost. */
  private async current(): Promise<Executor> {
    if (!this.executor.isLost || !this.recreate) return this.executor;
    this.recovering ??= (async () => {
      const { device, release } = await this.recreate!();
      try {
        const executor = await Executor.create(device, this.executor.planner);
        this.executor.dispose();
        this.release?.();
        this.executor = executor;
        this.release = release;
        return executor;
      } catch (err) {
        release?.();
        throw err;
      } finally {
        this.recovering = undefined;
      }
    })();
    return this.recovering;
  }

  /** Optimizes `graph` (BN folding, fusion), plans it, uploads weights and compiles every pipeline. */
  static async create<I>(init: ModelInit, decode: ImageDecoder<I>): Promise<ResNetModel<I>> {
    const { graph, device } = init;
    const passes = optimize(graph);
    const adapterInfo = init.adapter?.info ?? (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const lowering = convStrategyFor(device, adapterInfo);
    const alignment = device.limits.minStorageBufferOffsetAlignment;
    const precision = init.precision ?? 'f32';
    const executor = await Executor.create(device, (batch) => planWithinMemory(graph, { ...lowering, batch, f16Weights: precision === 'f16' }, alignment));
    const plan = executor.plan;
    const inputShape = graph.shapes.get(graph.input)!;
    const classes = graph.shapes.get(graph.output)![2];
    const labels = init.labels ?? Array.from({ length: classes }, (_, i) => `class ${i}`);
    if (labels.length !== classes) {
      executor.dispose();
      throw new ResNetError(`${labels.length} labels given for a model with ${classes} outputs`);
    }
    const info: ModelInfo = {
      name: graph.name,
      adapter: init.adapter ? describeAdapter(init.adapter).name : 'caller-provided device',
      inputShape: [...inputShape],
      classes,
      weightBytes: executor.constantBytes,
      arenaBytesBatch1: executor.arenaLayout(1).bytes,
      pipelines: executor.pipelineCount,
      dispatches: plan.steps.length,
      convStrategy: lowering.convStrategy,
      precision,
      passes,
    };
    return new ResNetModel(executor, decode, labels, init.release, info, init.preprocessing ?? CAFFE_PREPROCESSING, init.recreate);
  }

  private check(): void {
    if (this.disposed) throw new ResNetError('this model was disposed; load a new one with loadResNet()');
  }

  /** The GPUDevice the model runs on (yours, if you passed one): create input textures and output buffers on it. */
  get device(): GPUDevice {
    return this.executor.device;
  }

  /** Bytes of GPU memory held now (weights, and arena + readback for each batch size used so far). */
  get gpuBytes(): number {
    return this.executor.gpuBytes;
  }

  /** The largest batch one run takes on this device (up to `upTo`); `infer` splits larger batches into runs of this size. */
  maxBatch(upTo = 4096): number {
    return this.executor.largestBatch(upTo);
  }

  /** The arena size for `batch` images. */
  arenaBytes(batch: number): number {
    return this.executor.arenaLayout(batch).bytes;
  }

  /** Decodes and preprocesses one image into the model's input tensor (NHWC). */
  async preprocess(image: I): Promise<Float32Array> {
    this.check();
    const raw = await this.decode(image);
    return preprocessImage(raw, this.preprocessing);
  }

  /** Top-`topK` classes of one image, most probable first. */
  async classify(image: I, options: { topK?: number } = {}): Promise<Prediction[]> {
    const input = await this.preprocess(image);
    const probs = await this.infer(input);
    return this.top(probs, options.topK ?? 5);
  }

  /** Top-k of a probability vector, with labels. */
  top(probabilities: Float32Array, topK = 5): Prediction[] {
    if (!Number.isFinite(topK) || topK < 1) throw new InputError(`topK must be a positive integer, got ${topK}`);
    const k = Math.min(Math.floor(topK), probabilities.length);
    const order = [...probabilities.keys()].sort((a, b) => probabilities[b]! - probabilities[a]!);
    return order.slice(0, k).map((index) => ({ index, label: this.labels[index]!, probability: probabilities[index]! }));
  }

  /**
   * Runs an already preprocessed tensor of `batch` images ([batch, H, W, 3] NHWC or [batch, 3, H, W] NCHW)
   * and returns [batch, classes] probabilities or logits.
   */
  async infer(input: Float32Array, options: InferOptions = {}): Promise<Float32Array> {
    this.check();
    const batch = options.batch ?? 1;
    const layout = options.layout ?? 'nhwc';
    const [h, w, c] = this.info.inputShape;
    if (!(input instanceof Float32Array)) throw new InputError('input must be a Float32Array');
    if (!Number.isInteger(batch) || batch < 1) throw new InputError(`batch must be a positive integer, got ${batch}`);
    if (layout !== 'nhwc' && layout !== 'nchw') throw new InputError(`layout must be 'nhwc' or 'nchw', got ${JSON.stringify(layout)}`);
    const output = options.output ?? 'probabilities';
    if (output !== 'probabilities' && output !== 'logits') throw new InputError(`output must be 'probabilities' or 'logits', got ${JSON.stringify(output)}`);
    const per = h * w * c;
    if (input.length !== batch * per) {
      const dims = layout === 'nhwc' ? `${batch}x${h}x${w}x${c}` : `${batch}x${c}x${h}x${w}`;
      throw new InputError(`input holds ${input.length} values, expected ${dims} = ${batch * per} (${layout.toUpperCase()})`);
    }
    const nhwc = layout === 'nhwc' ? input : nchwToNhwc(input, batch, c, h, w);
    const kind = output === 'logits' && this.executor.plan.logits ? 'logits' : 'output';
    if (output === 'logits' && kind !== 'logits') throw new InputError(`this model does not end in a softmax: no separate logits`);
    const executor = await this.current();
    // A batch too large for the device's binding or buffer size runs in chunks (0: not even one image fits,
    // and the run below reports which tensor is too large).
    const chunk = executor.largestBatch(batch) || batch;
    const nonFinite = () => {
      const i = firstNonFinite(input);
      if (i >= 0) throw new InputError(`input[${i}] is ${input[i]}: every value must be finite`);
    };
    if (chunk < batch) {
      nonFinite();
      const out = new Float32Array(batch * this.info.classes);
      const runs: Array<Promise<void>> = [];
      for (let b0 = 0; b0 < batch; b0 += chunk) {
        const n = Math.min(chunk, batch - b0);
        runs.push(executor.run(nhwc.subarray(b0 * per, (b0 + n) * per), n, kind).then((r) => out.set(r, b0 * this.info.classes)));
      }
      await Promise.all(runs);
      return out;
    }
    // Every value must be finite; checked on the CPU while the GPU runs (the result is dropped if not).
    return executor.run(nhwc, batch, kind, nonFinite);
  }

  /**
   * One image already on the GPU (an rgba8unorm GPUTexture with TEXTURE_BINDING usage): resize, crop and
   * normalization run in a compute kernel, then the network. Returns probabilities (or `output: 'logits'`,
   * or `'input'` for the preprocessed tensor); with `into: { buffer }` (COPY_DST usage) the result stays
   * on the GPU, copied into your buffer, and nothing is read back (returns undefined).
   */
  async inferTexture(texture: GPUTexture, options: { output?: 'probabilities' | 'logits' | 'input'; into?: { buffer: GPUBuffer; offset?: number } } = {}): Promise<Float32Array | undefined> {
    this.check();
    if (texture.format !== 'rgba8unorm' && texture.format !== 'rgba8unorm-srgb' && texture.format !== 'bgra8unorm') {
      throw new InputError(`texture format ${texture.format} is not supported (rgba8unorm or bgra8unorm)`);
    }
    if (!(texture.usage & 0x4 /* GPUTextureUsage.TEXTURE_BINDING */)) throw new InputError('the texture needs TEXTURE_BINDING usage to be read by the preprocessing kernel');
    const output = options.output ?? 'probabilities';
    const kind = output === 'input' ? 'input' : output === 'logits' && this.executor.plan.logits ? 'logits' : 'output';
    return (await this.current()).runTexture(texture, this.preprocessing, kind, options.into);
  }

  /** Top-`topK` classes of an image already on the GPU (see inferTexture). */
  async classifyTexture(texture: GPUTexture, options: { topK?: number } = {}): Promise<Prediction[]> {
    return this.top((await this.inferTexture(texture))!, options.topK ?? 5);
  }

  /** GPU time of each dispatch for one run of `batch` images (adapter must offer 'timestamp-query'). */
  async profile(batch = 1): Promise<ProfileStep[]> {
    this.check();
    const [h, w, c] = this.info.inputShape;
    return (await this.current()).profile(new Float32Array(batch * h * w * c), batch);
  }

  /** Destroys every GPU buffer of this model. Calling it twice is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.executor.dispose();
    this.release?.();
  }
}

export function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) {
    out[(b * h * w + p) * c + ch] = x[(b * c + ch) * h * w + p]!;
  }
  return out;
}
