/**
 * Model sources and weight formats, shared by the Node and browser entries: what a source is, which format
 * a file name announces, and the graph of a file already in memory. A loader takes only what it reads
 * (SourceOptions), not the model's settings.
 */
import type { ResNetDefinition } from '../arch/resnet.js';
import { InputError } from '../errors.js';
import type { Graph } from '../graph/graph.js';
import { folderConfig, loadModelFolder } from './model-folder.js';
import { loadOnnxResNet } from './onnx.js';
import { loadSafetensorsResNet } from './safetensors.js';
import { type FileSource, memorySource } from './source.js';
import { type LoadProgress, loadTfjsLayersModel } from './tfjs-layers.js';

export type { LoadProgress };

/** TF.js layers files held in memory: model.json (text, bytes or parsed object) and its shards by file name. */
export interface InMemoryModel {
  modelJson: string | object | Uint8Array;
  /** Shard contents keyed by the paths model.json lists. */
  weights: Record<string, Uint8Array | ArrayBuffer>;
}

/** A torchvision/timm state_dict as safetensors bytes. */
export interface InMemorySafetensors {
  safetensors: Uint8Array | ArrayBuffer;
}

/** An ONNX model's bytes. */
export interface InMemoryOnnx {
  onnx: Uint8Array | ArrayBuffer;
}

/** A model folder's files in memory, by path: a Hugging Face or timm folder (config.json + model.safetensors,
 * preprocessor_config.json) or a TF.js one (model.json + shards). */
export interface InMemoryFolder {
  folder: Record<string, Uint8Array | ArrayBuffer | string>;
}

export type ModelSource = string | URL | InMemoryModel | InMemorySafetensors | InMemoryOnnx | InMemoryFolder;

/** The weight formats: Keras via TF.js layers (model.json + shards), safetensors, ONNX. */
export type WeightsFormat = 'tfjs-layers' | 'safetensors' | 'onnx';

/** Where a model's files came from: all from the network, all from the browser's weight cache, or some of each. */
export type WeightsOrigin = 'network' | 'cache' | 'mixed';

/** What the loaders read besides the files (of LoadOptions, these alone). */
export interface SourceOptions {
  /** Progress while the weight files are read. */
  onProgress?: (p: LoadProgress) => void;
  /** safetensors: the depth expected (else inferred from the tensors) and where a bottleneck's stride sits. */
  depth?: number;
  definition?: ResNetDefinition;
  /** URLs: keep the files in the browser's Cache API (default true where there is one). */
  cache?: boolean;
}

/** The options' part the loaders read. */
export const sourceOptions = ({ onProgress, depth, definition, cache }: SourceOptions): SourceOptions => ({
  onProgress,
  depth,
  definition,
  cache,
});

export interface LoadedGraph {
  graph: Graph;
  format: WeightsFormat;
  /** For URL sources: whether the files came from the network, the weight cache, or both. */
  origin?: WeightsOrigin;
}

export const isUrl = (s: string | URL): boolean => s instanceof URL || /^(https?|file|blob|data):/i.test(s);

/** The format a file name or URL path announces by its extension (anything else: a TF.js model.json). */
export function formatOf(name: string): WeightsFormat {
  const path = name.split(/[?#]/)[0]!;
  return /\.safetensors$/i.test(path) ? 'safetensors' : /\.onnx$/i.test(path) ? 'onnx' : 'tfjs-layers';
}

/** Builds the graph of one weights file already in memory. */
export function graphFromBytes(
  format: Exclude<WeightsFormat, 'tfjs-layers'>,
  bytes: Uint8Array,
  where: string,
  options: SourceOptions,
): Graph {
  switch (format) {
    case 'safetensors':
      return loadSafetensorsResNet(bytes, where, { depth: options.depth, definition: options.definition });
    case 'onnx':
      return loadOnnxResNet(bytes, where);
  }
}

export async function loadFromMemory(
  model: InMemoryModel | InMemorySafetensors | InMemoryOnnx | InMemoryFolder,
  options: SourceOptions = {},
): Promise<LoadedGraph> {
  const asBytes = (b: Uint8Array | ArrayBuffer) => (b instanceof Uint8Array ? b : new Uint8Array(b));
  if (model && typeof model === 'object' && 'folder' in model) {
    const source = memorySource(model.folder, 'folder');
    const config = await folderConfig(source);
    if (config) return loadModelFolder(source, config, options);
    return { graph: await loadTfjsLayersModel(source, 'model.json', options.onProgress), format: 'tfjs-layers' };
  }
  if (model && typeof model === 'object' && 'safetensors' in model) {
    const graph = graphFromBytes('safetensors', asBytes(model.safetensors), 'memory:safetensors', options);
    return { graph, format: 'safetensors' };
  }
  if (model && typeof model === 'object' && 'onnx' in model) {
    return { graph: graphFromBytes('onnx', asBytes(model.onnx), 'memory:onnx', options), format: 'onnx' };
  }
  if (!model || typeof model !== 'object' || !('modelJson' in model) || !('weights' in model)) {
    throw new InputError(
      'source must be a URL, a path, { modelJson, weights }, { safetensors }, { onnx } or { folder: { path: bytes } }',
    );
  }
  const json = model.modelJson;
  const text = typeof json === 'string' || json instanceof Uint8Array ? json : JSON.stringify(json);
  const files: Record<string, Uint8Array | ArrayBuffer | string> = { ...model.weights, 'model.json': text };
  const source: FileSource = memorySource(files, 'memory');
  return { graph: await loadTfjsLayersModel(source, 'model.json', options.onProgress), format: 'tfjs-layers' };
}
