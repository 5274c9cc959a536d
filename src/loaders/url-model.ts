/** A model from a URL: its files fetched (through the browser's weight cache, src/loaders/url-cache.ts, where there is
 * one) and read by format. */
import { formatOf, graphFromBytes, type LoadedGraph, type SourceOptions } from './formats.js';
import { loadTfjsLayersModel } from './tfjs-layers.js';
import { folderConfig, loadModelFolder } from './model-folder.js';
import { urlSource } from './source.js';
import { cachingSource, defaultCacheStorage } from './url-cache.js';

/** Loads from a URL; with a CacheStorage (the browser's, unless `cache: false`), through the weight cache. */
export async function loadFromUrl(
  url: string | URL,
  options: SourceOptions = {},
  storage = options.cache === false ? undefined : defaultCacheStorage(),
): Promise<LoadedGraph> {
  const href = url instanceof URL ? url.href : url;
  const last = new URL(href).pathname.split('/').pop();
  const network = urlSource(href);
  const cached = storage && cachingSource(network, storage);
  const source = cached ?? network;
  const origin = () => cached?.origin() ?? 'network';
  // a folder URL: a Hugging Face or timm folder when it has a config.json, else a TF.js folder
  const config = last ? undefined : await folderConfig(source);
  if (config) return { ...(await loadModelFolder(source, config, options)), origin: origin() };
  const file = last || 'model.json';
  const format = formatOf(file);
  if (format === 'tfjs-layers') {
    const graph = await loadTfjsLayersModel(source, file, options.onProgress);
    return { graph, format, origin: origin() };
  }
  let loaded = 0;
  const bytes = await source.read(file, (delta) =>
    options.onProgress?.({ loadedBytes: (loaded += delta), totalBytes: 0 }),
  );
  options.onProgress?.({ loadedBytes: bytes.length, totalBytes: bytes.length });
  return { graph: graphFromBytes(format, bytes, source.describe(file), options), format, origin: origin() };
}
