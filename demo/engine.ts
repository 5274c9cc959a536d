/**
 * The demo's model, in a dedicated Worker (webgpu-resnet/worker, the default) or on the page's main
 * thread (`?worker=0`, for comparison), behind one small interface; and the weights it can load.
 */
import { GPUUnavailableError, imageToTexture, loadResNet, type LoadProgress, type ResNetModel, type BrowserImage } from '../src/browser.js';
import type { BlockInfo, ModelInfo, Prediction } from '../src/api/model.js';
import type { Explanation } from '../src/api/explain.js';
import type { Preprocessing } from '../src/preprocess/preprocess.js';
import type { ProfileStep } from '../src/runtime/executor.js';
import { createWorkerModel, type WorkerModel } from '../src/worker.js';

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
}

function onMainThread(model: ResNetModel<BrowserImage>): DemoModel {
  return {
    info: model.info,
    blocks: model.blocks,
    inWorker: false,
    preprocessing: model.preprocessing,
    engine: model,
    explain: (bitmap, o) => model.explain(bitmap, o).then(([e]) => e!).finally(() => bitmap.close()),
    classify: (bitmap, o) => model.classify(bitmap, o).finally(() => bitmap.close()),
    embed: (bitmap, o) => model.embed(bitmap, o).finally(() => bitmap.close()),
    profile: async (o) => (model.device.features.has('timestamp-query') ? model.profile(1, o) : undefined),
    async classifyFrame(frame, o) {
      const texture = imageToTexture(model.device, frame);
      try {
        return await model.classifyTexture(texture, o);
      } finally {
        texture.destroy();
        frame.close();
      }
    },
  };
}

export async function startModel(choice: WeightsChoice, inWorker: boolean, onProgress: (p: LoadProgress) => void): Promise<DemoModel> {
  const source = new URL(WEIGHTS[choice].url, location.href);
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
    profile: (o) => model.profile(1, o).catch((err: unknown) => {
      if (err instanceof GPUUnavailableError && /timestamp-query/.test(err.message)) return undefined;
      throw err;
    }),
    classifyFrame: (frame, o) => model.classify(frame, o),
  };
}
