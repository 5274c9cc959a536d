/**
 * webgpu-resnet/worker: the model in a dedicated Worker, so inference never blocks the page. The
 * worker owns the GPU device and the model; createWorkerModel returns an object with the model's async
 * API. Images go over by transfer (an ImageBitmap or VideoFrame is moved, not copied, and closed by the
 * worker); errors come back as the engine's own classes.
 *
 *   const model = await createWorkerModel({ source: '/models/resnet50-int8.safetensors' });
 *   const top5 = await model.classify(await createImageBitmap(file));
 *   model.dispose(); // ends the worker
 */
import './webgpu-names.js';
import type { BlockInfo, EmbedOptions, InferOptions, LesionOptions, ModelInfo, Prediction } from './api/model.js';
import type { ExplainOptions, Explanation } from './api/explain.js';
import type { Preprocessing } from './preprocess/preprocess.js';
import { InputError } from './errors.js';
import type { LoadOptions } from './browser.js';
import type { LoadProgress } from './load.js';
import type { ProfileStep } from './runtime/executor.js';
import type { Head } from './train/head.js';
import type { EpochRecord, FitOptions } from './train/trainer.js';
import { errorFromMessage, type Answer, type Loaded, type Method, type Trained } from './worker/protocol.js';

export { clearModelCache } from './loaders/url-cache.js';

/** Images a worker model takes: ImageBitmap and VideoFrame are transferred (the caller's copy is closed). */
export type WorkerImage = ImageBitmap | VideoFrame | ImageData | Blob;

export interface WorkerModelOptions extends Omit<LoadOptions, 'device'> {
  /** The worker to use (default: a new module Worker running this package's resnet-worker.js). */
  worker?: Worker;
}

export interface WorkerModel {
  readonly info: ModelInfo;
  readonly blocks: readonly BlockInfo[];
  /** The labels the model answers with now (the trained ones after train or useHead). */
  readonly labels: readonly string[];
  readonly preprocessing: Preprocessing;
  /** The Worker that runs the model. */
  readonly worker: Worker;
  classify(image: WorkerImage, options?: { topK?: number } & LesionOptions): Promise<Prediction[]>;
  embed(image: WorkerImage, options?: EmbedOptions): Promise<Float32Array>;
  /** Class activation maps (see ResNetModel.explain). */
  explain(image: WorkerImage, options?: ExplainOptions & LesionOptions): Promise<Explanation[]>;
  infer(input: Float32Array, options?: InferOptions): Promise<Float32Array>;
  profile(batch?: number, options?: LesionOptions): Promise<ProfileStep[]>;
  /**
   * New classes, trained in the worker on the GPU from these examples (see Trainer; the images are
   * transferred); from then on classify, explain and embed use them. Resolves to the fit (the head, the
   * history per epoch, the validation split's confusion matrix), less the model, which stays in the worker.
   */
  train(examples: Array<{ image: WorkerImage; label: string }>, options?: FitOptions): Promise<Trained>;
  /** Classify with `head` from now on (a trained head, or a head-only file's bytes), or with the weights' own classifier (undefined). Resolves to the labels. */
  useHead(head?: Head | Uint8Array): Promise<readonly string[]>;
  /** Releases the model's GPU memory and ends the worker; later calls fail with an InputError. */
  dispose(): void;
}

const transferable = (image: WorkerImage): Transferable[] =>
  (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) ||
  (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame)
    ? [image as Transferable]
    : [];

/** Starts a Worker, loads the model in it (weights cached like loadResNet's) and returns its API. */
export async function createWorkerModel(options: WorkerModelOptions): Promise<WorkerModel> {
  if ((options as LoadOptions).device)
    throw new InputError(
      'a worker model uses a device of its own: `device` cannot be passed (a GPUDevice cannot cross to a worker)',
    );
  const worker =
    options.worker ??
    new Worker(new URL('./resnet-worker.js', import.meta.url), { type: 'module', name: 'webgpu-resnet' });
  interface Listeners {
    onProgress?: (p: LoadProgress) => void;
    onEpoch?: (r: EpochRecord) => void;
    onEmbedded?: (done: number, total: number) => void;
  }
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void } & Listeners>();
  let next = 0;
  let ended = false;
  worker.addEventListener('message', (event: MessageEvent<Answer>) => {
    const answer = event.data;
    const call = pending.get(answer.id);
    if (!call) return;
    if ('progress' in answer) return call.onProgress?.(answer.progress);
    if ('epoch' in answer) return call.onEpoch?.(answer.epoch);
    if ('embedded' in answer) return call.onEmbedded?.(answer.embedded, answer.total);
    pending.delete(answer.id);
    if (answer.ok) call.resolve(answer.value);
    else call.reject(errorFromMessage(answer.error));
  });
  worker.addEventListener('error', (event) => {
    const err = new Error(
      `the model worker failed: ${event.message || 'it could not be started (is resnet-worker.js served next to worker.js?)'}`,
    );
    for (const call of pending.values()) call.reject(err);
    pending.clear();
  });
  const call = <T>(
    method: Method,
    args: unknown[],
    transfer: Transferable[] = [],
    listeners: Listeners = {},
  ): Promise<T> => {
    if (ended) return Promise.reject(new InputError('this worker model was disposed'));
    return new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...listeners });
      worker.postMessage({ id, method, args }, transfer);
    });
  };
  const { onProgress, worker: _given, ...loadOptions } = options;
  let loaded: Loaded;
  try {
    // A URL is resolved here: inside the worker, relative URLs would be relative to the worker's script.
    const { source: given } = loadOptions;
    const source =
      given instanceof URL
        ? given.href
        : typeof given === 'string'
          ? new URL(given, globalThis.location?.href).href
          : given;
    loaded = await call<Loaded>('load', [{ ...loadOptions, source }], [], { onProgress });
  } catch (err) {
    worker.terminate();
    throw err;
  }
  let labels = loaded.labels;
  return {
    info: loaded.info,
    blocks: loaded.blocks,
    get labels() {
      return labels;
    },
    preprocessing: loaded.preprocessing,
    worker,
    classify: (image, o) => call('classify', [image, o], transferable(image)),
    embed: (image, o) => call('embed', [image, o], transferable(image)),
    explain: (image, o) => call('explain', [image, o], transferable(image)),
    infer: (input, o) => call('infer', [input, o]),
    profile: (batch, o) => call('profile', [batch, o]),
    async train(examples, options = {}) {
      const { onEpoch, onEmbedded, ...rest } = options;
      const result = await call<Trained>(
        'train',
        [examples, rest],
        examples.flatMap((e) => transferable(e.image)),
        { onEpoch, onEmbedded },
      );
      labels = [...result.head.labels];
      return result;
    },
    async useHead(head) {
      labels = await call<string[]>('useHead', [head]);
      return labels;
    },
    dispose() {
      if (ended) return;
      void call('dispose', []).finally(() => worker.terminate());
      ended = true;
    },
  };
}
