/**
 * Model folders as the hubs ship them, read by their config.json:
 *  - Hugging Face transformers (`model_type: "resnet"`): model.safetensors in transformers' key names (or
 *    onnx/model.onnx, as transformers.js ships it), labels from `id2label`, preprocessing from
 *    preprocessor_config.json (image_mean, image_std, rescale_factor, size, crop_pct, resample);
 *  - timm (`pretrained_cfg` or `architecture`): model.safetensors in timm's names, labels from
 *    `label_names`, preprocessing from pretrained_cfg (mean, std, crop_pct, input_size, interpolation).
 * The weights' graph carries what the config declares (`Graph.declared`); options the caller gives win.
 */
import { ModelFormatError } from '../errors.js';
import type { DeclaredSettings, Graph } from '../graph/graph.js';
import type { Preprocessing } from '../preprocess/preprocess.js';
import { loadOnnxResNet } from './onnx.js';
import { loadSafetensorsResNet, type ResNetWeightsOptions } from './safetensors.js';
import type { FileSource } from './source.js';

type Json = Record<string, unknown>;

/** The folder's parsed config.json, or undefined when it has none (a TF.js folder). */
export async function folderConfig(source: FileSource): Promise<Json | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await source.read('config.json');
  } catch {
    return undefined;
  }
  return parseJson(bytes, source.describe('config.json'));
}

function parseJson(bytes: Uint8Array, where: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new ModelFormatError(`${where}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ModelFormatError(`${where}: must be a JSON object`);
  return value as Json;
}

const isTriple = (v: unknown): v is [number, number, number] =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Labels in class order from `id2label` ({ "0": "tench", ... }); undefined when absent. */
function labelsOfId2label(id2label: unknown, where: string): string[] | undefined {
  if (id2label === undefined) return undefined;
  if (typeof id2label !== 'object' || id2label === null)
    throw new ModelFormatError(`${where}: id2label is not an object`);
  const entries = Object.entries(id2label as Record<string, unknown>);
  const labels: string[] = new Array(entries.length);
  for (const [id, label] of entries) {
    const i = Number(id);
    if (!(Number.isInteger(i) && i >= 0 && i < entries.length) || typeof label !== 'string')
      throw new ModelFormatError(`${where}: id2label must map 0 .. ${entries.length - 1} to strings (${id})`);
    labels[i] = label;
  }
  return labels;
}

/** transformers' image processor config (ConvNext-style resize: shorter side to size / crop_pct, then crop). */
function transformersPreprocessing(p: Json, where: string): Preprocessing {
  const size = typeof p.size === 'number' ? p.size : (p.size as Json | undefined)?.shortest_edge;
  const cropPct = typeof p.crop_pct === 'number' ? p.crop_pct : 0.875;
  if (typeof size !== 'number' || !(size > 0))
    throw new ModelFormatError(`${where}: size must be a number or { shortest_edge }`);
  if (!isTriple(p.image_mean) || !isTriple(p.image_std))
    throw new ModelFormatError(`${where}: image_mean and image_std must be 3 numbers each`);
  const scale = p.do_rescale === false ? 1 : typeof p.rescale_factor === 'number' ? p.rescale_factor : 1 / 255;
  return {
    resizeTo: Math.round(size / cropPct),
    cropTo: size,
    order: 'RGB',
    scale,
    mean: p.image_mean,
    std: p.image_std,
    interpolation: p.resample === 3 ? 'bicubic' : 'bilinear',
  };
}

/** timm's pretrained_cfg (input_size [3, H, W], crop_pct, mean, std, interpolation). */
function timmPreprocessing(cfg: Json, where: string): Preprocessing | undefined {
  if (!isTriple(cfg.mean) || !isTriple(cfg.std)) return undefined;
  const size = Array.isArray(cfg.input_size) ? Number(cfg.input_size[1]) : 224;
  const cropPct = typeof cfg.crop_pct === 'number' ? cfg.crop_pct : 0.875;
  if (!(size > 0)) throw new ModelFormatError(`${where}: pretrained_cfg.input_size must be [3, H, W]`);
  return {
    resizeTo: Math.floor(size / cropPct),
    cropTo: size,
    order: 'RGB',
    scale: 1 / 255,
    mean: cfg.mean,
    std: cfg.std,
    interpolation: cfg.interpolation === 'bicubic' ? 'bicubic' : 'bilinear',
  };
}

/** `graph` with what the config declares (labels: one per class). */
function withDeclared(graph: Graph, declared: DeclaredSettings, where: string): Graph {
  const classes = graph.shapes.get(graph.output)![2];
  if (declared.labels && declared.labels.length !== classes)
    throw new ModelFormatError(`${where}: ${declared.labels.length} labels for the weights' ${classes} classes`);
  const given = Object.fromEntries(Object.entries(declared).filter(([, v]) => v !== undefined));
  return { ...graph, declared: { ...graph.declared, ...given } };
}

/** What a folder's loader reads besides the files (SourceOptions' part). */
export interface FolderOptions extends ResNetWeightsOptions {
  onProgress?: (p: { loadedBytes: number; totalBytes: number }) => void;
}

/** The graph of a Hugging Face or timm folder whose config.json is `config`, and its weights' format. */
export async function loadModelFolder(
  source: FileSource,
  config: Json,
  options: FolderOptions,
): Promise<{ graph: Graph; format: 'safetensors' | 'onnx' }> {
  const where = source.describe('config.json');
  const read = (path: string) =>
    source.read(path, options.onProgress && ((d) => options.onProgress?.({ loadedBytes: d, totalBytes: 0 })));
  if (config.model_type === 'resnet') {
    const labels = labelsOfId2label(config.id2label, where);
    const processor = await source.read('preprocessor_config.json').then(
      (b) =>
        transformersPreprocessing(
          parseJson(b, source.describe('preprocessor_config.json')),
          source.describe('preprocessor_config.json'),
        ),
      () => undefined,
    );
    const weights = await read('model.safetensors').then(
      (bytes) => ({
        format: 'safetensors' as const,
        graph: loadSafetensorsResNet(bytes, source.describe('model.safetensors'), options),
      }),
      async () => ({
        format: 'onnx' as const,
        graph: loadOnnxResNet(await read('onnx/model.onnx'), source.describe('onnx/model.onnx')),
      }),
    );
    const inputSize = processor && ([processor.cropTo, processor.cropTo] as [number, number]);
    const declared = { labels, labelsFrom: 'config.json id2label', preprocessing: processor, inputSize };
    return { format: weights.format, graph: withDeclared(weights.graph, declared, where) };
  }
  const cfg = (config.pretrained_cfg ?? {}) as Json;
  if (config.architecture === undefined && config.pretrained_cfg === undefined)
    throw new ModelFormatError(
      `${where}: neither a Hugging Face transformers ResNet (model_type "resnet") nor a timm model (architecture, ` +
        `pretrained_cfg)`,
    );
  const names = config.label_names ?? cfg.label_names;
  if (names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === 'string')))
    throw new ModelFormatError(`${where}: label_names must be an array of strings`);
  const preprocessing = timmPreprocessing(cfg, where);
  const inputSize = preprocessing && ([preprocessing.cropTo, preprocessing.cropTo] as [number, number]);
  const path = 'model.safetensors';
  const graph = loadSafetensorsResNet(await read(path), source.describe(path), options);
  return {
    format: 'safetensors',
    graph: withDeclared(
      graph,
      { labels: names as string[] | undefined, labelsFrom: 'config.json label_names', preprocessing, inputSize },
      where,
    ),
  };
}
