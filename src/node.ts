/**
 * webgpu-resnet for Node: WebGPU through Dawn (npm `webgpu`), images from files or Buffers (sharp),
 * weights from a path, a URL or memory; with no source, the pretrained ResNet-50 from the per-user model
 * cache (downloaded there on first use).
 */
import './webgpu-names.js';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createModel, type Platform } from './api/create.js';
import type { ResNetModel } from './api/model.js';
import type { LoadOptionsBase } from './api/options.js';
import { ModelCacheError } from './errors.js';
import {
  formatOf,
  graphFromBytes,
  isUrl,
  type LoadedGraph,
  loadFromMemory,
  type SourceOptions,
  sourceOptions,
} from './loaders/formats.js';
import { loadFromUrl } from './loaders/url-model.js';
import { loadTfjsLayersModel } from './loaders/tfjs-layers.js';
import { acquireNodeDevice } from './node/gpu.js';
import { decodeImage } from './node/image.js';
import { fetchPretrained } from './node/model-cache.js';
import { damageOfRecorded } from './node/compact-cache.js';
import { folderSource, splitModelPath } from './node/files.js';
import { folderConfig, loadModelFolder } from './loaders/model-folder.js';

export * from './index.js';
export { decodeImage } from './node/image.js';
export { defaultModelPath } from './node/paths.js';
import { weightsFromEnv } from './node/paths.js';
import { nodeTuningAnswers } from './node/tuning-store.js';
import { Trainer } from './train/trainer.js';
export {
  fetchPretrained,
  modelCacheDir,
  pretrainedModelPath,
  PRETRAINED,
  type FetchOptions,
} from './node/model-cache.js';
export { compactPretrained, compactPretrainedPath } from './node/compact-cache.js';

/** In Node an image is a file path or the file's bytes. */
export type NodeImage = string | Uint8Array;

export interface LoadOptions extends LoadOptionsBase {}

/** The graph IR of the weights `source` names (the raw graph, before the passes), read on the CPU: no GPU needed. */
export async function loadGraph(options: SourceOptions & Pick<LoadOptions, 'source'>): Promise<LoadedGraph> {
  const { source } = options;
  const { onProgress } = options;
  if (source === undefined) {
    const path = weightsFromEnv() ?? (await fetchPretrained({ onProgress }));
    const { source: folder, file } = await splitModelPath(path);
    return { graph: await loadTfjsLayersModel(folder, file, onProgress), format: 'tfjs-layers' };
  }
  if (typeof source === 'string' || source instanceof URL) {
    if (isUrl(source)) return loadFromUrl(source, options);
    const path = source as string;
    await refuseDamaged(path);
    const hub = await hubFolder(path);
    if (hub) return loadModelFolder(hub.source, hub.config, options);
    const format = formatOf(path);
    const { source: folder, file } = await splitModelPath(path);
    if (format === 'tfjs-layers') return { graph: await loadTfjsLayersModel(folder, file, onProgress), format };
    let loaded = 0;
    const bytes = await folder.read(file, (delta) => onProgress?.({ loadedBytes: (loaded += delta), totalBytes: 0 }));
    onProgress?.({ loadedBytes: bytes.length, totalBytes: bytes.length });
    return { graph: graphFromBytes(format, bytes, resolve(path), options), format };
  }
  return loadFromMemory(source, options);
}

/** A Hugging Face or timm model folder (a folder with a config.json), or undefined. */
async function hubFolder(path: string) {
  if (
    !(await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return undefined;
  const source = folderSource(path);
  const config = await folderConfig(source);
  return config && { source, config };
}

/** A file the model cache wrote (with a record beside it) must still be what was written. */
async function refuseDamaged(path: string): Promise<void> {
  const damage = await damageOfRecorded(resolve(path));
  if (damage)
    throw new ModelCacheError(
      `${damage.file} ${damage.problem}; run \`webgpu-resnet fetch --force\` to write the model cache's files again`,
    );
}

/** A file's bytes (a head given by its path). */
async function readBytes(path: string): Promise<Uint8Array> {
  const { source, file } = await splitModelPath(path);
  return source.read(file);
}

/** Loads a ResNet and prepares it on the GPU (weights uploaded, every pipeline compiled). */
export async function loadResNet(options: LoadOptions = {}): Promise<ResNetModel<NodeImage>> {
  const loaded = await loadGraph({ source: options.source, ...sourceOptions(options) });
  return createModel(loaded, options, nodePlatform());
}

/** What Node supplies a model (src/api/create.ts): files and sharp for images, Dawn for the device, the model cache
 * for the autotune's answers. */
export function nodePlatform(): Platform<NodeImage> {
  return {
    decode: decodeImage,
    acquireDevice: acquireNodeDevice,
    readFile: readBytes,
    tuning: () => nodeTuningAnswers(),
    trainer: (model) => new Trainer(model),
  };
}
