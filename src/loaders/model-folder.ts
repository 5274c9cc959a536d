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

/**
 * The folder's config.json when it is a hub's (transformers' model_type, timm's architecture or
 * pretrained_cfg), else undefined: no config.json, or one of something else (a TF.js folder's own files, or a
 * server answering every path with a page), and the folder is read as before.
 */
export async function folderConfig(source: FileSource): Promise<Json | undefined> {
  let config: Json;
  try {
    config = parseJson(await source.read('config.json'), source.describe('config.json'));
  } catch {
    return undefined;
  }
  const hub =
    config.model_type !== undefined || config.architecture !== undefined || config.pretrained_cfg !== undefined;
  return hub ? config : undefined;
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

/** PIL's resampling codes (transformers' `resample`) and timm's names, as the engine's filters; others refused. */
const PIL_FILTERS: Record<number, Preprocessing['interpolation']> = { 2: 'bilinear', 3: 'bicubic' };
const PIL_NAMES = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'];

function filterOf(value: unknown, where: string): Preprocessing['interpolation'] {
  const filter =
    typeof value === 'number' ? PIL_FILTERS[value] : value === 'bilinear' || value === 'bicubic' ? value : undefined;
  if (filter) return filter;
  const named = typeof value === 'number' ? `${value} (PIL's ${PIL_NAMES[value] ?? 'unknown'})` : JSON.stringify(value);
  throw new ModelFormatError(`${where}: resizing with ${named} is not supported (bilinear or bicubic)`);
}

/**
 * transformers' ConvNextImageProcessor (what ResNet folders name): below 384 the shorter side to
 * int(shortest_edge / crop_pct), then the center crop; from 384 a resize to the size (a square warp in
 * transformers; here the shorter side and a center crop: the same for square images). Defaults as its own:
 * bicubic, crop_pct 224 / 256, rescale 1 / 255.
 */
function transformersPreprocessing(p: Json, where: string): Preprocessing {
  const size = typeof p.size === 'number' ? p.size : ((p.size as Json | undefined)?.shortest_edge ?? 384);
  const cropPct = typeof p.crop_pct === 'number' ? p.crop_pct : 224 / 256;
  if (typeof size !== 'number' || !(size > 0))
    throw new ModelFormatError(`${where}: size must be a number or { shortest_edge }`);
  if (p.do_resize === false) throw new ModelFormatError(`${where}: do_resize false is not supported`);
  const normalize = p.do_normalize !== false;
  const mean = normalize ? p.image_mean : [0, 0, 0];
  const std = normalize ? p.image_std : [1, 1, 1];
  if (!isTriple(mean) || !isTriple(std))
    throw new ModelFormatError(`${where}: image_mean and image_std must be 3 numbers each`);
  const scale = p.do_rescale === false ? 1 : typeof p.rescale_factor === 'number' ? p.rescale_factor : 1 / 255;
  return {
    resizeTo: size >= 384 ? size : Math.floor(size / cropPct),
    cropTo: size,
    order: 'RGB',
    scale,
    mean,
    std,
    interpolation: filterOf(p.resample ?? 3, where),
    cropPct: size >= 384 ? 1 : cropPct,
  };
}

/** timm's pretrained_cfg: input_size [3, H, W], crop_pct, mean, std, interpolation; shorter side floor(H / pct). */
function timmPreprocessing(cfg: Json, where: string): Preprocessing | undefined {
  if (!isTriple(cfg.mean) || !isTriple(cfg.std)) return undefined;
  const [, h, w] = Array.isArray(cfg.input_size) ? cfg.input_size.map(Number) : [3, 224, 224];
  if (!(h! > 0) || h !== w)
    throw new ModelFormatError(
      `${where}: pretrained_cfg.input_size must be a square [3, H, H], not [${cfg.input_size}]`,
    );
  if (cfg.crop_mode !== undefined && cfg.crop_mode !== 'center')
    throw new ModelFormatError(
      `${where}: pretrained_cfg.crop_mode ${JSON.stringify(cfg.crop_mode)} is not supported (center)`,
    );
  const cropPct = typeof cfg.crop_pct === 'number' ? cfg.crop_pct : 0.875;
  return {
    resizeTo: Math.floor(h! / cropPct),
    cropTo: h!,
    order: 'RGB',
    scale: 1 / 255,
    mean: cfg.mean,
    std: cfg.std,
    interpolation: filterOf(cfg.interpolation ?? 'bilinear', where),
    cropPct,
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

/**
 * timm architectures whose difference from a plain ResNet has no weights, so their state_dict reads as that
 * ResNet's and would answer wrongly: the anti-aliased ones (resnetblur*: BlurPool2d, resnetaa* / seresnetaa* /
 * seresnextaa*: an average pool before each strided conv). Refused by the name config.json gives.
 */
function refuseParameterFree(architecture: unknown, where: string): void {
  if (typeof architecture !== 'string') return;
  const name = architecture.replace(/^timm\//, '').split('.')[0]!;
  const what = /^resnetblur/.test(name)
    ? 'anti-aliases its strided convs with a blur pool (BlurPool2d)'
    : /^(se)?res(net|next)aa/.test(name)
      ? 'anti-aliases its strided convs with an average pool (aa_layer)'
      : undefined;
  if (what)
    throw new ModelFormatError(
      `${where}: architecture ${architecture} ${what}, which has no weights (the state_dict reads as a plain ` +
        `ResNet's) and which this engine does not run`,
    );
}

/** The graph of a Hugging Face or timm folder whose config.json is `config`, and its weights' format. */
export async function loadModelFolder(
  source: FileSource,
  config: Json,
  options: FolderOptions,
): Promise<{ graph: Graph; format: 'safetensors' | 'onnx' }> {
  const where = source.describe('config.json');
  let loaded = 0;
  const read = async (path: string) => {
    const bytes = await source.read(path, (d) => options.onProgress?.({ loadedBytes: (loaded += d), totalBytes: 0 }));
    options.onProgress?.({ loadedBytes: loaded, totalBytes: loaded });
    return bytes;
  };
  if (config.model_type !== undefined) return transformersFolder(source, config, { ...options, where }, read);
  refuseParameterFree(config.architecture, where);
  const cfg = (config.pretrained_cfg ?? {}) as Json;
  const names = config.label_names ?? cfg.label_names;
  if (names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === 'string')))
    throw new ModelFormatError(`${where}: label_names must be an array of strings`);
  const preprocessing = timmPreprocessing(cfg, where);
  const inputSize = preprocessing && ([preprocessing.cropTo, preprocessing.cropTo] as [number, number]);
  const path = 'model.safetensors';
  const graph = loadSafetensorsResNet(await read(path), source.describe(path), options);
  const labels = names as string[] | undefined;
  const declared = { labels, labelsFrom: 'config.json label_names', preprocessing, inputSize };
  return { format: 'safetensors', graph: withDeclared(graph, declared, where) };
}

/** A transformers folder: ResNetForImageClassification's config, its weights, its image processor. */
async function transformersFolder(
  source: FileSource,
  config: Json,
  options: FolderOptions & { where: string },
  read: (path: string) => Promise<Uint8Array>,
): Promise<{ graph: Graph; format: 'safetensors' | 'onnx' }> {
  const { where } = options;
  const refuse = (what: string): never => {
    throw new ModelFormatError(`${where}: ${what}, which this engine does not run`);
  };
  if (config.model_type !== 'resnet')
    refuse(`model_type ${JSON.stringify(config.model_type)} is not transformers' ResNet ("resnet")`);
  if (config.downsample_in_first_stage === true) refuse('downsample_in_first_stage: a stride-2 first stage');
  if (config.hidden_act !== undefined && config.hidden_act !== 'relu') refuse(`hidden_act ${config.hidden_act}`);
  // downsample_in_bottleneck: the stride on the first 1x1 (the original definition), BatchNorm eps still 1e-5
  const weightsOptions: ResNetWeightsOptions =
    config.downsample_in_bottleneck === true ? { ...options, definition: 'keras-v1', epsilon: 1e-5 } : options;
  const labels = labelsOfId2label(config.id2label, where);
  const processorFile = source.describe('preprocessor_config.json');
  const processor = await source.read('preprocessor_config.json').then(
    (b) => transformersPreprocessing(parseJson(b, processorFile), processorFile),
    () => undefined,
  );
  let format: 'safetensors' | 'onnx' = 'safetensors';
  const graph = await read('model.safetensors').then(
    (bytes) => loadSafetensorsResNet(bytes, source.describe('model.safetensors'), weightsOptions),
    async (noSafetensors: Error) => {
      format = 'onnx';
      const bytes = await read('onnx/model.onnx').catch((noOnnx: Error) => {
        throw new ModelFormatError(
          `${where}: no weights: model.safetensors (${noSafetensors.message}) nor onnx/model.onnx (${noOnnx.message})`,
        );
      });
      return loadOnnxResNet(bytes, source.describe('onnx/model.onnx'));
    },
  );
  const inputSize = processor && ([processor.cropTo, processor.cropTo] as [number, number]);
  const declared = { labels, labelsFrom: 'config.json id2label', preprocessing: processor, inputSize };
  return { format, graph: withDeclared(graph, declared, where) };
}
