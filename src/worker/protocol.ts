/**
 * The messages between createWorkerModel (page) and the worker that owns the device and the model
 * (src/worker/host.ts). Every request carries an id; the answer carries it back with a value or an
 * error as { name, message }, which the page turns back into the engine's error class of that name.
 */
import {
  DependencyError,
  GPUUnavailableError,
  GraphError,
  InputError,
  ModelCacheError,
  ModelDownloadError,
  ModelFormatError,
  NonFiniteOutputError,
  ResNetError,
  TrainingError,
} from '../errors.js';
import type { BlockInfo, ModelInfo } from '../api/model.js';
import type { Preprocessing } from '../preprocess/preprocess.js';
import type { EpochRecord, FitResult } from '../train/trainer.js';

export type Method = 'load' | 'classify' | 'infer' | 'embed' | 'explain' | 'profile' | 'train' | 'useHead' | 'dispose';

export interface Request {
  id: number;
  method: Method;
  args: unknown[];
}

export type Answer =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string } }
  | { id: number; progress: { loadedBytes: number; totalBytes: number } }
  | { id: number; epoch: EpochRecord }
  | { id: number; embedded: number; total: number };

/** What `train` answers: the fit, less the model (the worker classifies with it from then on). */
export type Trained = Omit<FitResult<never>, 'model'>;

/** What `load` answers: what the page's WorkerModel shows without asking again. */
export interface Loaded {
  info: ModelInfo;
  blocks: BlockInfo[];
  labels: string[];
  preprocessing: Preprocessing;
}

const CLASSES: Record<string, new (message: string) => Error> = {
  ResNetError,
  ModelFormatError,
  GraphError,
  InputError,
  GPUUnavailableError,
  ModelDownloadError,
  ModelCacheError,
  NonFiniteOutputError,
  DependencyError,
  TrainingError,
};

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
