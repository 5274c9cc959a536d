/** Model sources shared by the Node and browser entries. */
import { ModelFormatError } from './errors.js';
import type { Graph } from './graph/ir.js';
import { loadTfjsLayersModel, type LoadProgress } from './loaders/tfjs-layers.js';
import { memorySource, urlSource, type FileSource } from './loaders/source.js';

/** Model files held in memory: model.json (text, bytes or parsed object) and its shards by file name. */
export interface InMemoryModel {
  modelJson: string | object | Uint8Array;
  /** Shard contents keyed by the paths model.json lists. */
  weights: Record<string, Uint8Array | ArrayBuffer>;
}

export type ModelSource = string | URL | InMemoryModel;

export interface LoadOptionsBase {
  /** Where the weights come from: a model.json URL, (Node) a path to model.json or its folder, or files in memory. */
  source?: ModelSource;
  /** A GPUDevice of yours; the engine then never destroys it. */
  device?: GPUDevice;
  /** Progress while the weight files are read. */
  onProgress?: (p: LoadProgress) => void;
  /** Class names; default: ImageNet-1k for 1000-class models. */
  labels?: readonly string[];
}

export const isUrl = (s: string | URL): boolean => s instanceof URL || /^(https?|file|blob|data):/i.test(s);

export function loadFromUrl(url: string | URL, onProgress?: (p: LoadProgress) => void): Promise<Graph> {
  const href = url instanceof URL ? url.href : url;
  const file = new URL(href).pathname.split('/').pop() || 'model.json';
  return loadTfjsLayersModel(urlSource(href), file, onProgress);
}

export function loadFromMemory(model: InMemoryModel, onProgress?: (p: LoadProgress) => void): Promise<Graph> {
  if (!model || typeof model !== 'object' || !('modelJson' in model) || !('weights' in model)) {
    throw new ModelFormatError('source must be a URL, a path, or { modelJson, weights }');
  }
  const json = model.modelJson;
  const text = typeof json === 'string' || json instanceof Uint8Array ? json : JSON.stringify(json);
  const files: Record<string, Uint8Array | ArrayBuffer | string> = { ...model.weights, 'model.json': text };
  const source: FileSource = memorySource(files, 'memory');
  return loadTfjsLayersModel(source, 'model.json', onProgress);
}

export type { LoadProgress };
