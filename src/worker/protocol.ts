/**
 * The methods of a worker model, declared once: their signatures (WorkerMethods) and how each call crosses
 * to the worker (METHODS: the images it transfers, the callbacks that come back as messages). The page's
 * proxy (src/worker.ts) is made from METHODS and the worker's handlers (src/worker/host.ts) are typed by
 * WorkerMethods, so a method added here without a handler does not compile. Every request carries an id;
 * the answer carries it back with a value or an error as { name, message }, which the page turns back into
 * the engine's error class of that name.
 */
import type { ExplainOptions, Explanation } from '../api/explain.js';
import type { BlockInfo, EmbedOptions, InferOptions, LesionOptions, ModelInfo, Prediction } from '../api/model.js';
import type { FitOptions, FitResultOf } from '../api/training.js';
import type { LoadOptions } from '../browser.js';
import * as ERRORS from '../errors.js';
import type { Head } from '../graph/head.js';
import type { Preprocessing } from '../preprocess/preprocess.js';
import type { ProfileStep } from '../runtime/executor.js';

/** Images a worker model takes: ImageBitmap and VideoFrame are transferred (the caller's copy is closed). */
export type WorkerImage = ImageBitmap | VideoFrame | ImageData | Blob;

/** What `train` answers: the fit, less the model (the worker classifies with it from then on). */
export type Trained = Omit<FitResultOf, 'model'>;

/** What `load` answers: what the page's WorkerModel shows without asking again. */
export interface Loaded {
  info: ModelInfo;
  blocks: BlockInfo[];
  labels: string[];
  preprocessing: Preprocessing;
}

/** What the worker does for the page, one method per request. */
export interface WorkerMethods {
  load(options: Omit<LoadOptions, 'device'>): Promise<Loaded>;
  classify(image: WorkerImage, options?: { topK?: number } & LesionOptions): Promise<Prediction[]>;
  embed(image: WorkerImage, options?: EmbedOptions): Promise<Float32Array>;
  /** Class activation maps (see ResNetModel.explain). */
  explain(image: WorkerImage, options?: ExplainOptions & LesionOptions): Promise<Explanation[]>;
  infer(input: Float32Array, options?: InferOptions): Promise<Float32Array>;
  profile(batch?: number, options?: LesionOptions): Promise<ProfileStep[]>;
  /** New classes, trained in the worker on the GPU (see Trainer); the images are transferred. */
  train(examples: Array<{ image: WorkerImage; label: string }>, options?: FitOptions): Promise<Trained>;
  /** Classify with `head` from now on (a trained head or a head file's bytes), or with the weights' own (undefined). */
  useHead(head?: Head | Uint8Array): Promise<readonly string[]>;
  dispose(): Promise<void>;
}

export type Method = keyof WorkerMethods;
export type Args<M extends Method> = Parameters<WorkerMethods[M]>;

/** How a call crosses: what it transfers, and which callbacks of its options argument (at `at`) come back as messages.
 * */
export interface Crossing<M extends Method> {
  images?: (args: Args<M>) => WorkerImage[];
  listeners?: { at: number; names: readonly string[] };
}

export const METHODS: { readonly [M in Method]: Crossing<M> } = {
  load: { listeners: { at: 0, names: ['onProgress'] } },
  classify: { images: ([image]) => [image] },
  embed: { images: ([image]) => [image] },
  explain: { images: ([image]) => [image] },
  infer: {},
  profile: {},
  train: {
    images: ([examples]) => examples.map((e) => e.image),
    listeners: { at: 1, names: ['onEpoch', 'onEmbedded'] },
  },
  useHead: {},
  dispose: {},
};

export interface Request {
  id: number;
  method: Method;
  args: unknown[];
}

export type Answer =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string } }
  /** A callback of the request's options called in the worker (onProgress, onEpoch, onEmbedded). */
  | { id: number; listener: string; args: unknown[] };

/** The images of a call that move to the worker rather than being copied (ImageBitmap, VideoFrame). */
export function transferables<M extends Method>(method: M, args: Args<M>): Transferable[] {
  const images = (METHODS[method] as Crossing<M>).images?.(args) ?? [];
  const moves = (i: WorkerImage) =>
    (typeof ImageBitmap !== 'undefined' && i instanceof ImageBitmap) ||
    (typeof VideoFrame !== 'undefined' && i instanceof VideoFrame);
  return images.filter(moves) as Transferable[];
}

/** The engine's error classes by name (src/errors.ts exports nothing else). */
const CLASSES = ERRORS as unknown as Record<string, new (message: string) => Error>;

export function errorToMessage(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}

/** The error a message stands for, of the engine's class of that name (a plain Error otherwise). */
export function errorFromMessage({ name, message }: { name: string; message: string }): Error {
  const Class = CLASSES[name];
  const err = Class ? new Class(message) : new Error(message);
  if (!Class) err.name = name;
  return err;
}
