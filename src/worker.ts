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
import { errorFromMessage, type Answer, type Loaded, type Method } from './worker/protocol.js';

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
  /** Releases the model's GPU memory and ends the worker; later calls fail with an InputError. */
  dispose(): void;
}

const transferable = (image: WorkerImage): Transferable[] =>
  (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) || (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame) ? [image as Transferable] : [];

/** Starts a Worker, loads the model in it (weights cached like loadResNet's) and returns its API. */
export async function createWorkerModel(options: WorkerModelOptions): Promise<WorkerModel> {
  if ((options as LoadOptions).device) throw new InputError('a worker model uses a device of its own: `device` cannot be passed (a GPUDevice cannot cross to a worker)');
  const worker = options.worker ?? new Worker(new URL('./resnet-worker.js', import.meta.url), { type: 'module', name: 'webgpu-resnet' });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; onProgress?: (p: LoadProgress) => void }>();
  let next = 0;
  let ended = false;
  worker.addEventListener('message', (event: MessageEvent<Answer>) => {
    const answer = event.data;
    const call = pending.get(answer.id);
    if (!call) return;
    if ('progress' in answer) return call.onProgress?.(answer.progress);
    pending.delete(answer.id);
    if (answer.ok) call.resolve(answer.value);
    else call.reject(errorFromMessage(answer.error));
  });
  worker.addEventListener('error', (event) => {
    const err = new Error(`the model worker failed: ${event.message || 'it could not be started (is resnet-worker.js served next to worker.js?)'}`);
    for (const call of pending.values()) call.reject(err);
    pending.clear();
  });
  const call = <T>(method: Method, args: unknown[], transfer: Transferable[] = [], onProgress?: (p: LoadProgress) => void): Promise<T> => {
    if (ended) return Promise.reject(new InputError('this worker model was disposed'));
    return new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      worker.postMessage({ id, method, args }, transfer);
    });
  };
  const { onProgress, worker: _given, ...loadOptions } = options;
  let loaded: Loaded;
  try {
    // A URL is resolved here: inside the worker, relative URLs would be relative to the worker's script.
    const { source: given } = loadOptions;
    const source = given instanceof URL ? given.href : typeof given === 'string' ? new URL(given, globalThis.location?.href).href : given;
    loaded = await call<Loaded>('load', [{ ...loadOptions, source }], [], onProgress);
  } catch (err) {
    worker.terminate();
    throw err;
  }
  return {
    info: loaded.info,
    blocks: loaded.blocks,
    labels: loaded.labels,
    preprocessing: loaded.preprocessing,
    worker,
    classify: (image, o) => call('classify', [image, o], transferable(image)),
    embed: (image, o) => call('embed', [image, o], transferable(image)),
    explain: (image, o) => call('explain', [image, o], transferable(image)),
    infer: (input, o) => call('infer', [input, o]),
    profile: (batch, o) => call('profile', [batch, o]),
    dispose() {
      if (ended) return;
      void call('dispose', []).finally(() => worker.terminate());
      ended = true;
    },
  };
}
