/**
 * The public model: graph -> plan -> executor, plus image preprocessing and labels. Platform-neutral:
 * the Node and browser entries supply the GPU device, image decoding and default weights.
 */
import { InputError, ResNetError } from './errors.js';
import type { Graph, Shape } from './graph/ir.js';
import { residualBlocks, skipBlocks, type ResidualBlock } from './graph/blocks.js';
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

/** Which residual blocks to delete for a call (see ResNetModel.blocks). */
export interface LesionOptions {
  /**
   * Residual blocks to delete, by name (`layerS.B`, e.g. `['layer3.2', 'layer4.0']`): a deleted block passes
   * its input through the identity shortcut, or for a block that changes shape, through its projection
   * alone (y = relu(proj(x))). The plan for each set of blocks is built once and kept.
   */
  skipBlocks?: readonly string[];
}

export interface InferOptions extends LesionOptions {
  /** Number of images in `input` (default 1). */
  batch?: number;
  /** Memory order of `input`: NHWC (default, what the engine runs) or NCHW (PyTorch's). */
  layout?: 'nhwc' | 'nchw';
  /**
   * What to return: softmax probabilities (default), the logits before the softmax, or the features: the
   * global average pool's output that the classifier reads (2048 values per image for ResNet-50/101/152,
   * 512 for ResNet-18/34).
   */
  output?: 'probabilities' | 'logits' | 'features';
}

export interface EmbedOptions extends LesionOptions {
  /** Scale the vector to unit length (L2), so that a dot product is the cosine similarity (default false). */
  normalize?: boolean;
}

/** A residual block of the loaded network, as `skipBlocks` names it. */
export interface BlockInfo {
  /** `layerS.B`: stage S from 1, block B from 0 (torchvision's names; in Keras' ResNet-50, layer3.2 is res4c). */
  name: string;
  stage: number;
  index: number;
  /** Whether the shortcut is a 1x1 projection (the block changes shape) rather than the identity. */
  projection: boolean;
  /** The projection conv's layer name (e.g. res4a_branch1), for a projection shortcut; it stays when the block is deleted. */
  shortcut?: string;
  inputShape: Shape;
  outputShape: Shape;
  /** The layers on the residual branch, by their names in the weights (e.g. res4c_branch2a, ...). */
  layers: string[];
}

/** Cosine similarity of two vectors of the same length (e.g. two embeddings): 1 same direction, 0 orthogonal. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new InputError(`cannot compare vectors of ${a.length} and ${b.length} values`);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export interface ModelInfo {
  name: string;
  adapter: string;
  inputShape: [number, number, number];
  classes: number;
  /** Length of the feature vector `embed` returns (the global average pool's channels), 0 if none. */
  features: number;
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
  /** The residual blocks, in order, that `skipBlocks` can delete. */
  readonly blocks: readonly BlockInfo[];
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
    blocks: readonly ResidualBlock[],
  ) {
    this.info = info;
    this.preprocessing = preprocessing;
    this.blocks = blocks.map((b) => ({
      name: b.name, stage: b.stage, index: b.index, projection: b.projection !== undefined, shortcut: b.projection,
      inputShape: [...b.inputShape], outputShape: [...b.outputShape], layers: [...b.layers],
    }));
  }

  /**
   * What a run reads back for `output` (default 'probabilities'), one of `allowed`: unknown values, and
   * outputs this network does not have (logits without a final softmax, features without a global
   * average pool), are an InputError.
   */
  private outputKind<O extends 'probabilities' | 'logits' | 'features' | 'input'>(output: O | undefined, allowed: readonly O[]): Exclude<O, 'probabilities'> | 'output' {
    const chosen = output ?? 'probabilities';
    if (!allowed.includes(chosen as O)) {
      const list = allowed.map((a) => `'${a}'`);
      throw new InputError(`output must be ${list.slice(0, -1).join(', ')} or ${list.at(-1)}, got ${JSON.stringify(chosen)}`);
    }
    const { plan } = this.executor;
    if (chosen === 'logits' && !plan.logits) throw new InputError('this model does not end in a softmax: no separate logits');
    if (chosen === 'features' && !plan.features) throw new InputError('this model has no global average pool: no features to return');
    return chosen === 'probabilities' ? 'output' : chosen as Exclude<O, 'probabilities'>;
  }

  /**
   * The plan variant for a set of blocks to delete: '' for none, else their names in network order,
   * comma-separated. Unknown names are an InputError that lists the blocks there are.
   */
  private variant(skip: readonly string[] | undefined): string {
    if (skip === undefined) return '';
    if (!Array.isArray(skip) || skip.some((s) => typeof s !== 'string')) throw new InputError('skipBlocks must be an array of block names such as "layer3.2"');
    const known = new Set(this.blocks.map((b) => b.name));
    const unknown = skip.filter((s) => !known.has(s));
    if (unknown.length) {
      const stages = new Map<number, string[]>();
      for (const b of this.blocks) stages.set(b.stage, [...(stages.get(b.stage) ?? []), b.name]);
      const ranges = [...stages.values()].map((names) => (names.length > 1 ? `${names[0]}..${names.at(-1)}` : names[0])).join(', ');
      throw new InputError(`unknown residual block${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => JSON.stringify(u)).join(', ')}: this ${this.info.name} has ${this.blocks.length ? ranges : 'no residual blocks'}`);
    }
    const wanted = new Set(skip);
    return this.blocks.filter((b) => wanted.has(b.name)).map((b) => b.name).join(',');
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
    const blocks = residualBlocks(graph);
    const planner = (batch: number, variant: string) => {
      const g = variant ? skipBlocks(graph, blocks, variant.split(',')) : graph;
      return planWithinMemory(g, { ...lowering, batch, f16Weights: precision === 'f16' }, alignment);
    };
    const executor = await Executor.create(device, planner);
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
      features: plan.features ? graph.shapes.get(plan.features)![2] : 0,
      weightBytes: executor.constantBytes,
      arenaBytesBatch1: executor.arenaLayout(1).bytes,
      pipelines: executor.pipelineCount,
      dispatches: plan.steps.length,
      convStrategy: lowering.convStrategy,
      precision,
      passes,
    };
    return new ResNetModel(executor, decode, labels, init.release, info, init.preprocessing ?? CAFFE_PREPROCESSING, init.recreate, blocks);
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
  maxBatch(upTo = 4096, options: LesionOptions = {}): number {
    return this.executor.largestBatch(upTo, this.variant(options.skipBlocks));
  }

  /** The activation arena's size for `batch` images (of the network without `skipBlocks`, if given). */
  arenaBytes(batch: number, options: LesionOptions = {}): number {
    return this.executor.arenaLayout(batch, this.variant(options.skipBlocks)).bytes;
  }

  /** Decodes and preprocesses one image into the model's input tensor (NHWC). */
  async preprocess(image: I): Promise<Float32Array> {
    this.check();
    const raw = await this.decode(image);
    return preprocessImage(raw, this.preprocessing);
  }

  /** Top-`topK` classes of one image, most probable first (with `skipBlocks`: of the network without those blocks). */
  async classify(image: I, options: { topK?: number } & LesionOptions = {}): Promise<Prediction[]> {
    this.variant(options.skipBlocks); // bad names fail before the image is decoded
    const input = await this.preprocess(image);
    const probs = await this.infer(input, { skipBlocks: options.skipBlocks });
    return this.top(probs, options.topK ?? 5);
  }

  /**
   * The embedding of one image: the global-average-pooled features the classifier reads (2048 values for
   * ResNet-50/101/152, 512 for 18/34); with `normalize`, scaled to unit length. Compare two with
   * cosineSimilarity.
   */
  async embed(image: I, options: EmbedOptions = {}): Promise<Float32Array> {
    this.variant(options.skipBlocks);
    const input = await this.preprocess(image);
    const features = await this.infer(input, { output: 'features', skipBlocks: options.skipBlocks });
    if (options.normalize) {
      const norm = Math.hypot(...features);
      if (norm > 0) for (let i = 0; i < features.length; i++) features[i]! /= norm;
    }
    return features;
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
    const kind = this.outputKind(options.output, ['probabilities', 'logits', 'features']);
    const variant = this.variant(options.skipBlocks);
    const per = h * w * c;
    if (input.length !== batch * per) {
      const dims = layout === 'nhwc' ? `${batch}x${h}x${w}x${c}` : `${batch}x${c}x${h}x${w}`;
      throw new InputError(`input holds ${input.length} values, expected ${dims} = ${batch * per} (${layout.toUpperCase()})`);
    }
    const nhwc = layout === 'nhwc' ? input : nchwToNhwc(input, batch, c, h, w);
    const perOut = kind === 'features' ? this.info.features : this.info.classes;
    const executor = await this.current();
    // A batch too large for the device's binding or buffer size runs in chunks (0: not even one image fits,
    // and the run below reports which tensor is too large).
    const chunk = executor.largestBatch(batch, variant) || batch;
    const nonFinite = () => {
      const i = firstNonFinite(input);
      if (i >= 0) throw new InputError(`input[${i}] is ${input[i]}: every value must be finite`);
    };
    if (chunk < batch) {
      nonFinite();
      const out = new Float32Array(batch * perOut);
      const runs: Array<Promise<void>> = [];
      for (let b0 = 0; b0 < batch; b0 += chunk) {
        const n = Math.min(chunk, batch - b0);
        runs.push(executor.run(nhwc.subarray(b0 * per, (b0 + n) * per), n, { output: kind, variant }).then((r) => out.set(r, b0 * perOut)));
      }
      await Promise.all(runs);
      return out;
    }
    // Every value must be finite; checked on the CPU while the GPU runs (the result is dropped if not).
    return executor.run(nhwc, batch, { output: kind, variant, whileRunning: nonFinite });
  }

  /**
   * One image already on the GPU (an rgba8unorm GPUTexture with TEXTURE_BINDING usage): resize, crop and
   * normalization run in a compute kernel, then the network (with `skipBlocks`, without those blocks).
   * Returns probabilities (or `output: 'logits'`, `'features'` for the embedding, or `'input'` for the
   * preprocessed tensor); with `into: { buffer }` (COPY_DST usage) the result stays on the GPU, copied
   * into your buffer, and nothing is read back (returns undefined).
   */
  async inferTexture(texture: GPUTexture, options: { output?: 'probabilities' | 'logits' | 'features' | 'input'; into?: { buffer: GPUBuffer; offset?: number } } & LesionOptions = {}): Promise<Float32Array | undefined> {
    this.check();
    const variant = this.variant(options.skipBlocks);
    if (texture.format !== 'rgba8unorm' && texture.format !== 'rgba8unorm-srgb' && texture.format !== 'bgra8unorm') {
      throw new InputError(`texture format ${texture.format} is not supported (rgba8unorm or bgra8unorm)`);
    }
    if (!(texture.usage & 0x4 /* GPUTextureUsage.TEXTURE_BINDING */)) throw new InputError('the texture needs TEXTURE_BINDING usage to be read by the preprocessing kernel');
    const kind = this.outputKind(options.output, ['probabilities', 'logits', 'features', 'input']);
    return (await this.current()).runTexture(texture, this.preprocessing, kind, options.into, variant);
  }

  /** Top-`topK` classes of an image already on the GPU (see inferTexture). */
  async classifyTexture(texture: GPUTexture, options: { topK?: number } & LesionOptions = {}): Promise<Prediction[]> {
    return this.top((await this.inferTexture(texture, { skipBlocks: options.skipBlocks }))!, options.topK ?? 5);
  }

  /** GPU time of each dispatch for one run of `batch` images (adapter must offer 'timestamp-query'). */
  async profile(batch = 1, options: LesionOptions = {}): Promise<ProfileStep[]> {
    this.check();
    const variant = this.variant(options.skipBlocks);
    const [h, w, c] = this.info.inputShape;
    return (await this.current()).profile(new Float32Array(batch * h * w * c), batch, variant);
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
