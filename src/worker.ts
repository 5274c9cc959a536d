/**
 * webgpu-resnet/worker: the model in a dedicated Worker, so inference never blocks the page. The
 * worker owns the GPU device and the model; createWorkerModel returns an object with the model's async
 * API, made from the methods' one declaration (src/worker/protocol.ts). Images go over by transfer (an
 * ImageBitmap or VideoFrame is moved, not copied, and closed by the worker); errors come back as the
 * engine's own classes.
 *
 *   const model = await createWorkerModel({ source: '/models/resnet50-int8.safetensors' });
 *   const top5 = await model.classify(await createImageBitmap(file));
 *   model.dispose(); // ends the worker
 */
import './webgpu-names.js';
import type { BlockInfo, ModelInfo } from './api/model.js';
import type { LoadOptions } from './browser.js';
import { InputError } from './errors.js';
import type { Preprocessing } from './preprocess/preprocess.js';
import {
  type Answer,
  type Args,
  type Crossing,
  errorFromMessage,
  METHODS,
  type Method,
  transferables,
  type WorkerMethods,
} from './worker/protocol.js';

export { clearModelCache } from './loaders/url-cache.js';
export type { Trained, WorkerImage } from './worker/protocol.js';

export interface WorkerModelOptions extends Omit<LoadOptions, 'device'> {
  /** The worker to use (default: a new module Worker running this package's resnet-worker.js). */
  worker?: Worker;
}

/** The model's API in the page: every method of WorkerMethods but load, and dispose ending the worker. */
export interface WorkerModel extends Omit<WorkerMethods, 'load' | 'dispose'> {
  readonly info: ModelInfo;
  readonly blocks: readonly BlockInfo[];
  /** The labels the model answers with now (the trained ones after train or useHead). */
  readonly labels: readonly string[];
  readonly preprocessing: Preprocessing;
  /** The Worker that runs the model. */
  readonly worker: Worker;
  /** Releases the model's GPU memory and ends the worker; later calls fail with an InputError. */
  dispose(): void;
}

type Listener = (...args: unknown[]) => void;
type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; listeners: Record<string, Listener> };

/** The page's end of the worker: requests by id, their answers and callbacks routed back. */
function connect(worker: Worker) {
  const pending = new Map<number, Pending>();
  let next = 0;
  let ended = false;
  worker.addEventListener('message', (event: MessageEvent<Answer>) => {
    const answer = event.data;
    const call = pending.get(answer.id);
    if (!call) return;
    if ('listener' in answer) return void call.listeners[answer.listener]?.(...answer.args);
    pending.delete(answer.id);
    if (answer.ok) call.resolve(answer.value);
    else call.reject(errorFromMessage(answer.error));
  });
  worker.addEventListener('error', (event) => {
    const why = event.message || 'it could not be started (is resnet-worker.js served next to worker.js?)';
    for (const call of pending.values()) call.reject(new Error(`the model worker failed: ${why}`));
    pending.clear();
  });
  /** Sends one call: its callbacks kept here (the worker posts them back), its images transferred. */
  const call = <M extends Method>(method: M, args: Args<M>): ReturnType<WorkerMethods[M]> => {
    if (ended) return Promise.reject(new InputError('this worker model was disposed')) as ReturnType<WorkerMethods[M]>;
    const { listeners: spec } = METHODS[method] as Crossing<M>;
    const sent = [...args] as unknown[];
    const listeners: Record<string, Listener> = {};
    if (spec && sent[spec.at] && typeof sent[spec.at] === 'object') {
      const options = { ...(sent[spec.at] as Record<string, unknown>) };
      for (const name of spec.names) {
        if (typeof options[name] === 'function') listeners[name] = options[name] as Listener;
        delete options[name];
      }
      sent[spec.at] = options;
    }
    return new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, listeners });
      worker.postMessage({ id, method, args: sent }, transferables(method, args));
    }) as ReturnType<WorkerMethods[M]>;
  };
  return { call, end: () => (ended = true) };
}

/** Starts a Worker, loads the model in it (weights cached like loadResNet's) and returns its API. */
export async function createWorkerModel(options: WorkerModelOptions): Promise<WorkerModel> {
  if ((options as LoadOptions).device) {
    const why = 'a worker model uses a device of its own: `device` cannot be passed';
    throw new InputError(`${why} (a GPUDevice cannot cross to a worker)`);
  }
  const worker =
    options.worker ??
    new Worker(new URL('./resnet-worker.js', import.meta.url), { type: 'module', name: 'webgpu-resnet' });
  const { call, end } = connect(worker);
  const { worker: _given, ...loadOptions } = options;
  const load = async () => {
    // A URL is resolved here: inside the worker, relative URLs would be relative to the worker's script.
    const { source: given } = loadOptions;
    const url = typeof given === 'string' || given instanceof URL;
    const source = url ? new URL(given, globalThis.location?.href).href : given;
    return call('load', [{ ...loadOptions, source }]);
  };
  const loaded = await load().catch((err: unknown) => {
    worker.terminate();
    throw err;
  });
  let labels: readonly string[] = loaded.labels;
  let ended = false;
  const forwarded = Object.fromEntries(
    (Object.keys(METHODS) as Method[])
      .filter((m) => m !== 'load')
      .map((m) => [m, (...args: Args<typeof m>) => call(m, args)]),
  ) as unknown as Omit<WorkerMethods, 'load'>;
  return {
    ...forwarded,
    info: loaded.info,
    blocks: loaded.blocks,
    get labels() {
      return labels;
    },
    preprocessing: loaded.preprocessing,
    worker,
    async train(examples, fit) {
      const result = await forwarded.train(examples, fit);
      labels = [...result.head.labels];
      return result;
    },
    async useHead(head) {
      labels = await forwarded.useHead(head);
      return labels;
    },
    dispose() {
      if (ended) return;
      ended = true;
      void forwarded.dispose().finally(() => worker.terminate());
      end();
    },
  };
}
