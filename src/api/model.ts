/**
 * The public model: what a caller holds after loadResNet. It checks what it is handed (src/api/checks.ts,
 * src/api/variants.ts) and runs it on an Executor (src/runtime/executor.ts), rebuilt on a new device after
 * a loss when recovery is on. Platform-neutral: the Node and browser entries supply the device, image
 * decoding and default weights (src/api/create.ts builds the model for both).
 */
import { InputError } from '../errors.js';
import type { Head } from '../graph/head.js';
import type { PlanOutputs } from '../plan/planner.js';
import { CENTER_VIEW, type CropView, type Preprocessing, preprocessImage } from '../preprocess/preprocess.js';
import type { OutputTarget, ProfileStep } from '../runtime/executor.js';
import type { RecoveringExecutor } from '../runtime/recovery.js';
import { nchwToNhwc } from '../util/layout.js';
import { normalizeL2, topIndices } from '../util/vectors.js';
import { checkOutput, checkTarget, checkTensor, checkTexture, checkTopK, finiteOutput } from './checks.js';
import { runInChunks } from './chunks.js';
import { type Classifier, type ExplainOptions, type Explanation, readExplanations } from './explain.js';
import type { ModelTrainer } from './training.js';
import type {
  BlockInfo,
  EmbedOptions,
  ImageDecoder,
  ImageUploader,
  InferOptions,
  LesionOptions,
  ModelInfo,
  Prediction,
} from './types.js';
import { Variants } from './variants.js';

export type * from './types.js';

/** What makes model.trainer()'s trainer (the entries pass src/train/trainer.ts's). */
export type ModelTrainerFactory<I> = (model: ResNetModel<I>) => ModelTrainer<I, ResNetModel<I>>;

/** What src/api/assemble.ts hands the model. */
export interface ModelParts<I> {
  runner: RecoveringExecutor;
  decode: ImageDecoder<I>;
  /** Where the platform can put its images on the GPU (browsers): classify, embed and explain go that way. */
  upload?: ImageUploader<I>;
  labels: readonly string[];
  preprocessing: Preprocessing;
  info: ModelInfo;
  blocks: readonly BlockInfo[];
  outputs: PlanOutputs;
  /** Where the network ends in a global average pool and one dense layer: what explain needs. */
  classifier?: Classifier;
  /** A model sharing this one's network on the GPU, with another classifier (ResNetModel.withHead). */
  withHead?: (head: Head) => Promise<ResNetModel<I>>;
  trainer: ModelTrainerFactory<I>;
}

export class ResNetModel<I = never> {
  readonly info: ModelInfo;
  readonly preprocessing: Preprocessing;
  readonly labels: readonly string[];
  /** The residual blocks, in order, that `skipBlocks` can delete. */
  readonly blocks: readonly BlockInfo[];
  private readonly runner: RecoveringExecutor;
  private readonly decode: ImageDecoder<I>;
  private readonly upload?: ImageUploader<I>;
  private readonly outputs: PlanOutputs;
  private readonly variants: Variants;
  private readonly classifier?: Classifier;
  private readonly derive?: ModelParts<I>['withHead'];
  private readonly makeTrainer: ModelTrainerFactory<I>;
  private disposed = false;

  constructor(parts: ModelParts<I>) {
    ({
      runner: this.runner,
      decode: this.decode,
      upload: this.upload,
      labels: this.labels,
      preprocessing: this.preprocessing,
      info: this.info,
      outputs: this.outputs,
      classifier: this.classifier,
      withHead: this.derive,
      trainer: this.makeTrainer,
    } = parts);
    this.blocks = parts.blocks;
    this.variants = new Variants(this.blocks, this.info.name);
  }

  /**
   * Resolves when the model's current GPU device is lost (a driver reset, the device destroyed, ...). Calls
   * pending then reject with a GPUUnavailableError saying so; later calls do too, unless the model was
   * loaded with `recover: true`: then the next call builds the model again on a new device.
   */
  get lost(): Promise<{ reason: string; message: string }> {
    return this.runner.now.device.lost.then((info) => ({ reason: info.reason ?? 'unknown', message: info.message }));
  }

  /** The GPUDevice the model runs on (yours, if you passed one): create input textures and output buffers on it. */
  get device(): GPUDevice {
    return this.runner.now.device;
  }

  /** Bytes of GPU memory held now (weights, and arena + readback for each batch size used so far). */
  get gpuBytes(): number {
    return this.runner.now.gpuBytes;
  }

  private check(): void {
    if (this.disposed) throw new InputError('this model was disposed; load a new one with loadResNet()');
  }

  /** The largest batch one run takes on this device (up to `upTo`); `infer` splits larger batches into runs of this
   * size. */
  maxBatch(upTo = 4096, options: LesionOptions = {}): number {
    return this.runner.now.largestBatch(upTo, this.variants.of(options.skipBlocks));
  }

  /** The activation arena's size for `batch` images (of the network without `skipBlocks`, if given). */
  arenaBytes(batch: number, options: LesionOptions = {}): number {
    return this.runner.now.arenaLayout(batch, this.variants.of(options.skipBlocks)).bytes;
  }

  /** Decodes and preprocesses one image into the model's input tensor (NHWC); `view`: another crop than the center, or
   * mirrored. */
  async preprocess(image: I, view: CropView = CENTER_VIEW): Promise<Float32Array> {
    this.check();
    this.checkImageSize();
    return preprocessImage(await this.decode(image), this.preprocessing, undefined, 0, view);
  }

  /** Images are center-cropped to a square of the model's input size. */
  private checkImageSize(): void {
    const [h, w] = this.info.inputShape;
    if (this.preprocessing.cropTo !== h || h !== w) {
      throw new InputError(
        `images are center-cropped to a square: this model's input is ${h}x${w} and its preprocessing crops ` +
          `${this.preprocessing.cropTo}x${this.preprocessing.cropTo} (load with a square inputSize, or run tensors ` +
          `with infer)`,
      );
    }
  }

  /**
   * Runs one image: on the GPU as a texture where the platform can put it there (browsers: resize, crop
   * and normalization in the preprocessing kernel), else decoded and preprocessed on the CPU.
   */
  private async withImage<T>(
    image: I,
    onTexture: (texture: GPUTexture) => Promise<T>,
    onTensor: (input: Float32Array) => Promise<T>,
  ): Promise<T> {
    const texture = await this.imageTexture(image);
    if (!texture) return onTensor(await this.preprocess(image));
    try {
      return await onTexture(texture);
    } finally {
      texture.destroy();
    }
  }

  /**
   * The image as an rgba8unorm texture on the model's device, for inferTexture and friends (destroy it
   * when done), where the platform can put it there (browsers); undefined where it cannot (Node).
   */
  async imageTexture(image: I): Promise<GPUTexture | undefined> {
    this.check();
    return this.upload?.((await this.runner.current()).device, image);
  }

  /** Top-`topK` classes of one image, most probable first (with `skipBlocks`: of the network without those blocks). */
  async classify(image: I, options: { topK?: number } & LesionOptions = {}): Promise<Prediction[]> {
    const skipBlocks = options.skipBlocks;
    this.variants.of(skipBlocks); // bad names fail before the image is decoded
    const probabilities = await this.withImage(
      image,
      async (t) => (await this.inferTexture(t, { skipBlocks }))!,
      (x) => this.infer(x, { skipBlocks }),
    );
    return this.top(probabilities, options.topK ?? 5);
  }

  /**
   * The embedding of one image: the global-average-pooled features the classifier reads (2048 values for
   * ResNet-50/101/152, 512 for 18/34); with `normalize`, scaled to unit length. Compare two with
   * cosineSimilarity.
   */
  async embed(image: I, options: EmbedOptions = {}): Promise<Float32Array> {
    const skipBlocks = options.skipBlocks;
    this.variants.of(skipBlocks);
    const features = await this.withImage(
      image,
      async (t) => (await this.inferTexture(t, { output: 'features', skipBlocks }))!,
      (x) => this.infer(x, { output: 'features', skipBlocks }),
    );
    return options.normalize ? normalizeL2(features) : features;
  }

  /** Top-k of a probability vector, with labels. */
  top(probabilities: Float32Array, topK = 5): Prediction[] {
    return topIndices(probabilities, checkTopK(topK)).map((index) => ({
      index,
      label: this.labels[index]!,
      probability: probabilities[index]!,
    }));
  }

  /**
   * Runs an already preprocessed tensor of `batch` images ([batch, H, W, 3] NHWC or [batch, 3, H, W] NCHW)
   * and returns [batch, classes] probabilities or logits (or [batch, features] features); with `into: {
   * buffer, offset }` (COPY_DST usage) the result stays on the GPU, copied there, and nothing is read back.
   */
  infer(input: Float32Array, options: InferOptions & { into: OutputTarget }): Promise<undefined>;
  infer(input: Float32Array, options?: InferOptions): Promise<Float32Array>;
  async infer(
    input: Float32Array,
    options: InferOptions & { into?: OutputTarget } = {},
  ): Promise<Float32Array | undefined> {
    this.check();
    const { batch = 1, layout = 'nhwc' } = options;
    const [h, w, c] = this.info.inputShape;
    checkTensor(input, batch, layout, this.info.inputShape);
    const output = checkOutput(options.output, ['probabilities', 'logits', 'features'], this.outputs);
    const variant = this.variants.of(options.skipBlocks);
    const nhwc = layout === 'nhwc' ? input : nchwToNhwc(input, batch, c, h, w);
    const perOutput = output === 'features' ? this.info.features : this.info.classes;
    const into = options.into && checkTarget(options.into, batch * perOutput * 4);
    const chunked = { nhwc, given: input, batch, perImage: h * w * c, perOutput };
    return runInChunks(await this.runner.current(), chunked, { output, variant, into });
  }

  /**
   * One image already on the GPU (an rgba8unorm GPUTexture with TEXTURE_BINDING usage): resize, crop and
   * normalization run in a compute kernel, then the network (with `skipBlocks`, without those blocks).
   * Returns probabilities (or `output: 'logits'`, `'features'` for the embedding, or `'input'` for the
   * preprocessed tensor); with `into: { buffer }` (COPY_DST usage) the result stays on the GPU, copied
   * into your buffer, and nothing is read back (returns undefined). `view`: another crop than the center,
   * or mirrored (training's augmentation).
   */
  async inferTexture(
    texture: GPUTexture,
    options: { output?: keyof PlanOutputs | 'input'; into?: OutputTarget; view?: CropView } & LesionOptions = {},
  ): Promise<Float32Array | undefined> {
    this.check();
    const variant = this.variants.of(options.skipBlocks);
    checkTexture(texture);
    this.checkImageSize();
    const output = checkOutput(options.output, ['probabilities', 'logits', 'features', 'input'], this.outputs);
    const result = await (await this.runner.current()).runTexture(
      texture,
      this.preprocessing,
      output,
      options.into,
      variant,
      options.view,
    );
    return result && finiteOutput(result, output, result.length);
  }

  /** Top-`topK` classes of an image already on the GPU (see inferTexture). */
  async classifyTexture(texture: GPUTexture, options: { topK?: number } & LesionOptions = {}): Promise<Prediction[]> {
    return this.top((await this.inferTexture(texture, { skipBlocks: options.skipBlocks }))!, options.topK ?? 5);
  }

  /**
   * Where the network looks: class activation maps (Zhou et al. 2016) of one image for its top-1 class,
   * the given `classIndex`, or each of the `topK`, computed on the GPU in the same submission as the
   * classification. mean(map) + bias = logit. With `skipBlocks`, of the network without those blocks.
   */
  async explain(image: I, options: ExplainOptions & LesionOptions = {}): Promise<Explanation[]> {
    const variant = this.explainVariant(options);
    return this.withImage(
      image,
      (t) => this.explainTexture(t, options),
      async (x) =>
        this.explanations(await (await this.runner.current()).run(x, 1, { output: 'cam', variant }), options),
    );
  }

  /** explain for an image already on the GPU (see inferTexture). */
  async explainTexture(texture: GPUTexture, options: ExplainOptions & LesionOptions = {}): Promise<Explanation[]> {
    const variant = this.explainVariant(options);
    checkTexture(texture);
    this.checkImageSize();
    const raw = await (await this.runner.current()).runTexture(texture, this.preprocessing, 'cam', undefined, variant);
    return this.explanations(raw!, options);
  }

  /** The explanations in a run's `cam` output (every value finite). */
  private explanations(raw: Float32Array, options: ExplainOptions): Explanation[] {
    const maps = finiteOutput(raw, 'class activation maps and logits', raw.length);
    return readExplanations(maps, this.classifier!, this.labels, options);
  }

  private explainVariant(options: ExplainOptions & LesionOptions) {
    this.check();
    if (!this.classifier)
      throw new InputError(
        `${this.info.name} does not end in a global average pool and one dense layer, so it has no class ` +
          `activation maps`,
      );
    return this.variants.of(options.skipBlocks, true);
  }

  /** GPU time of each dispatch for one run of `batch` images (adapter must offer 'timestamp-query'); with `explain`,
   * including the class activation maps. */
  async profile(batch = 1, options: LesionOptions & { explain?: boolean } = {}): Promise<ProfileStep[]> {
    this.check();
    const variant = this.variants.of(options.skipBlocks, options.explain ?? false);
    const [h, w, c] = this.info.inputShape;
    return (await this.runner.current()).profile(new Float32Array(batch * h * w * c), batch, variant);
  }

  /**
   * A model sharing this one's network on the GPU (no second copy of its weights) whose classifier is
   * `head`: trained by `trainer().fit`, or read from a head file. Its classify, explain and embed speak the
   * head's labels; it stays usable after this model is disposed (the weights go when both are).
   */
  async withHead(head: Head): Promise<ResNetModel<I>> {
    this.check();
    if (!this.derive)
      throw new InputError(
        `${this.info.name} does not end in a global average pool and one dense layer, so it takes no head`,
      );
    return this.derive(head);
  }

  /** Trains a new classification head on this model's features, on the GPU (see Trainer). */
  trainer(): ModelTrainer<I, ResNetModel<I>> {
    this.check();
    return this.makeTrainer(this);
  }

  /** Destroys every GPU buffer of this model (and the device the engine created). Calling it twice is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runner.dispose();
  }
}
