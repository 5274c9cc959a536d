/**
 * The demo's model, in a dedicated Worker (webgpu-resnet/worker, the default) or on the page's main
 * thread (`?worker=0`, for comparison), behind one small interface; and the weights it can load.
 */
import {
  GPUUnavailableError,
  headFromSafetensors,
  imageToTexture,
  loadResNet,
  type FitOptions,
  type Head,
  type InMemoryFolder,
  type InMemoryOnnx,
  type InMemorySafetensors,
  type LoadProgress,
  type ResNetModel,
  type BrowserImage,
} from '../src/browser.js';
import type { BlockInfo, ModelInfo, Prediction } from '../src/api/model.js';
import type { Explanation } from '../src/api/explain.js';
import type { Preprocessing } from '../src/preprocess/preprocess.js';
import type { ProfileStep } from '../src/runtime/executor.js';
import { createWorkerModel, type WorkerModel } from '../src/worker.js';
import type { Trained } from '../src/worker/protocol.js';

/** The weights on offer: compact safetensors files made by `webgpu-resnet convert`, and the original TF.js files. */
export const WEIGHTS = {
  int8: { url: 'weights/resnet50-int8.safetensors', label: 'int8 (compact, default)' },
  f16: { url: 'weights/resnet50-f16.safetensors', label: 'f16 (compact)' },
  f32: { url: 'weights/model.json', label: 'float32 (TF.js files)' },
} as const;
export type WeightsChoice = keyof typeof WEIGHTS;

type Skip = { skipBlocks?: string[] };

export interface DemoModel {
  readonly info: ModelInfo;
  readonly blocks: readonly BlockInfo[];
  readonly inWorker: boolean;
  readonly preprocessing: Preprocessing;
  /** The library's own object: a ResNetModel on the main thread, a WorkerModel otherwise (for the console and the tests). */
  readonly engine: ResNetModel<BrowserImage> | WorkerModel;
  /** Classifies the bitmap, which is closed (moved to the worker) by the call. */
  classify(bitmap: ImageBitmap, options: { topK: number } & Skip): Promise<Prediction[]>;
  embed(bitmap: ImageBitmap, options: Skip): Promise<Float32Array>;
  /** The class activation map of one class; the bitmap is closed by the call. */
  explain(bitmap: ImageBitmap, options: { classIndex: number } & Skip): Promise<Explanation>;
  /** GPU time per dispatch; undefined where the adapter has no timestamp queries. */
  profile(options: Skip): Promise<ProfileStep[] | undefined>;
  /** A camera frame through GPU preprocessing; the frame is closed by the call. */
  classifyFrame(frame: VideoFrame, options: { topK: number } & Skip): Promise<Prediction[]>;
  /** The top-1 class's activation map of a camera frame; the frame is closed by the call. */
  explainFrame(frame: VideoFrame): Promise<Explanation>;
  /** The labels classify answers with now. */
  readonly labels: readonly string[];
  /** New classes trained from these examples (the bitmaps are closed by the call); classify and explain use them from then on. */
  train(examples: Array<{ image: ImageBitmap; label: string }>, options: FitOptions): Promise<Trained>;
  /** Classify with `head` (a head or a head-only file's bytes) from now on, or with ImageNet's classes (undefined). */
  useHead(head?: Head | Uint8Array): Promise<readonly string[]>;
}

function onMainThread(base: ResNetModel<BrowserImage>): DemoModel {
  let model = base; // the base, or the base with a trained head
  const withFrame = async <T>(frame: VideoFrame, run: (texture: GPUTexture) => Promise<T>): Promise<T> => {
    const texture = imageToTexture(model.device, frame);
    try {
      return await run(texture);
    } finally {
      texture.destroy();
      frame.close();
    }
  };
  const swap = (next: ResNetModel<BrowserImage>) => {
    if (model !== base) model.dispose();
    model = next;
    return model.labels;
  };
  return {
    info: base.info,
    blocks: base.blocks,
    inWorker: false,
    preprocessing: base.preprocessing,
    get engine() {
      return model;
    },
    get labels() {
      return model.labels;
    },
    explain: (bitmap, o) =>
      model
        .explain(bitmap, o)
        .then(([e]) => e!)
        .finally(() => bitmap.close()),
    classify: (bitmap, o) => model.classify(bitmap, o).finally(() => bitmap.close()),
    embed: (bitmap, o) => model.embed(bitmap, o).finally(() => bitmap.close()),
    profile: async (o) => (model.device.features.has('timestamp-query') ? model.profile(1, o) : undefined),
    classifyFrame: (frame, o) => withFrame(frame, (texture) => model.classifyTexture(texture, o)),
    explainFrame: (frame) => withFrame(frame, (texture) => model.explainTexture(texture)).then(([e]) => e!),
    async train(examples, options) {
      const trainer = base.trainer();
      for (const e of examples) trainer.add(e.image, e.label);
      try {
        const { model: trained, ...rest } = await trainer.fit(options);
        swap(trained);
        return rest;
      } finally {
        for (const e of examples) e.image.close();
      }
    },
    useHead: async (head) =>
      swap(
        head
          ? await base.withHead(head instanceof Uint8Array ? headFromSafetensors(head, 'the head file') : head)
          : base,
      ),
  };
}

/** Loads the weights on offer (`choice`), or a model file's bytes, in a worker or on the main thread. */
export async function startModel(
  choice: WeightsChoice | InMemorySafetensors | InMemoryOnnx | InMemoryFolder,
  inWorker: boolean,
  onProgress: (p: LoadProgress) => void,
): Promise<DemoModel> {
  const source = typeof choice === 'string' ? new URL(WEIGHTS[choice].url, location.href) : choice;
  if (!inWorker) return onMainThread(await loadResNet({ source, onProgress }));
  const model = await createWorkerModel({ source, onProgress });
  return {
    info: model.info,
    blocks: model.blocks,
    inWorker: true,
    preprocessing: model.preprocessing,
    engine: model,
    explain: (bitmap, o) => model.explain(bitmap, o).then(([e]) => e!),
    classify: (bitmap, o) => model.classify(bitmap, o),
    embed: (bitmap, o) => model.embed(bitmap, o),
    profile: (o) =>
      model.profile(1, o).catch((err: unknown) => {
        if (err instanceof GPUUnavailableError && /timestamp-query/.test(err.message)) return undefined;
        throw err;
      }),
    classifyFrame: (frame, o) => model.classify(frame, o),
    explainFrame: (frame) => model.explain(frame).then(([e]) => e!),
    get labels() {
      return model.labels;
    },
    train: (examples, options) => model.train(examples, options),
    useHead: (head) => model.useHead(head),
  };
}
