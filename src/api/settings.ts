/**
 * The options of a load, checked once and turned into the settings a model is built with
 * (src/api/create.ts): what the weights declared, the defaults of their format, and the caller's choices.
 */
import { InputError, ModelFormatError } from '../errors.js';
import { type Graph, weightDepth } from '../graph/graph.js';
import type { ConvStrategy } from '../kernels/conv-types.js';
import { isWeightStorage } from '../kernels/weight-storage.js';
import { IMAGENET_LABELS } from '../labels.js';
import type { LoadedGraph, WeightsFormat } from '../loaders/formats.js';
import { CAFFE_PREPROCESSING, type Preprocessing, TORCH_PREPROCESSING } from '../preprocess/preprocess.js';
import type { LoadOptionsBase, Precision } from './options.js';

/** What a model is built with: every option checked, every default settled. */
export interface ModelSettings {
  /** Given, declared by the file, or ImageNet-1k for 1000 classes; else none (the model names them `class i`). */
  labels?: readonly string[];
  /** Where the labels came from: 'given', what the file declares (e.g. "config.json id2label"), 'ImageNet-1k'. */
  labelsFrom?: string;
  preprocessing: Preprocessing;
  precision: Precision;
  /** The input size to plan for, when not the weights' own. */
  inputSize?: [number, number];
  convStrategy?: ConvStrategy;
  winograd: boolean | 2 | 4;
  autotune?: boolean | readonly number[];
  /** The caller's device and its adapter, if given. */
  device?: GPUDevice;
  adapter?: GPUAdapter;
  /** Build again on a new device after a loss (the engine's own device only). */
  recover: boolean;
}

/** With `depth` given, the loaded network must have it (any format); a clear error otherwise. */
function checkDepth(graph: Graph, depth: number | undefined): void {
  if (depth === undefined) return;
  const found = weightDepth(graph);
  if (found !== depth) {
    const why = `these weights are a ResNet-${found} (${found} weight layers deep)`;
    throw new ModelFormatError(`${why}, not the ResNet-${depth} asked for`);
  }
}

function checkChoices({ autotune, winograd, device, recover }: LoadOptionsBase): void {
  const batches = Array.isArray(autotune) && autotune.length && autotune.every((b) => Number.isInteger(b) && b >= 1);
  if (autotune !== undefined && typeof autotune !== 'boolean' && !batches) {
    const got = JSON.stringify(autotune);
    throw new InputError(`autotune must be true, false or a list of batch sizes (positive integers), got ${got}`);
  }
  if (winograd !== undefined && typeof winograd !== 'boolean' && winograd !== 2 && winograd !== 4) {
    const got = JSON.stringify(winograd);
    throw new InputError(
      `winograd must be true, false, 2 or 4 (the output tile of F(2x2, 3x3) or F(4x4, 3x3)), got ${got}`,
    );
  }
  if (device && recover) {
    const why = "recover: true needs the engine's own device: with a device of yours, watch model.lost";
    throw new InputError(`${why} and load the model again on a new one`);
  }
}

const defaultPreprocessing = (format: WeightsFormat): Preprocessing =>
  format === 'tfjs-layers' ? CAFFE_PREPROCESSING : TORCH_PREPROCESSING;

/** The input size asked for, as [height, width]. */
function askedSize(inputSize: LoadOptionsBase['inputSize'] | null): [number, number] | undefined {
  if (inputSize === undefined || inputSize === null) return undefined;
  const asked = typeof inputSize === 'number' ? ([inputSize, inputSize] as [number, number]) : inputSize;
  if (!(Array.isArray(asked) && asked.length === 2)) {
    throw new InputError(`inputSize must be a number or [height, width], got ${JSON.stringify(inputSize)}`);
  }
  return asked;
}

/**
 * The preprocessing for another input size, by timm's rule: the shorter side to floor(size / crop_pct), then
 * the center crop; crop_pct as asked, else the preprocessing's own (a hub folder's), else 0.875. The size the
 * preprocessing already crops to keeps it as it is (a file converted for a size records its own).
 */
function preprocessingFor(
  given: Preprocessing,
  inputSize: [number, number] | undefined,
  asked: boolean,
  cropPct?: number,
): Preprocessing {
  const pct = cropPct ?? given.cropPct ?? 0.875;
  if (!(pct > 0 && pct <= 1)) throw new InputError(`cropPct must be in (0, 1], got ${pct}`);
  const square = inputSize && inputSize[0] === inputSize[1];
  const resize = square && (cropPct !== undefined || given.cropTo !== inputSize[0] || (asked && !given.cropPct));
  const p = resize ? { ...given, resizeTo: Math.floor(inputSize[0] / pct + 1e-9), cropTo: inputSize[0] } : given;
  if (p.resizeTo < p.cropTo) {
    const why = `preprocessing resizes to ${p.resizeTo} pixels, less than the ${p.cropTo} it crops`;
    throw new InputError(`${why}: resizeTo must be at least cropTo`);
  }
  return p;
}

/**
 * The settings of a model of `loaded` built with `options`: the depth checked, labels (ImageNet-1k for
 * 1000-class models unless given), preprocessing (by weight format unless given), precision, input size.
 */
export function modelSettings({ graph, format }: LoadedGraph, options: LoadOptionsBase): ModelSettings {
  checkDepth(graph, options.depth);
  checkChoices(options);
  const precision = options.precision ?? graph.declared?.precision ?? 'f32';
  if (!isWeightStorage(precision)) {
    throw new InputError(`precision must be 'f32', 'f16' or 'int8', got ${JSON.stringify(precision)}`);
  }
  const classes = graph.shapes.get(graph.output)![2];
  const given = options.preprocessing ?? graph.declared?.preprocessing ?? defaultPreprocessing(format);
  if (given.interpolation !== undefined && given.interpolation !== 'bilinear' && given.interpolation !== 'bicubic')
    throw new InputError(
      `preprocessing.interpolation must be 'bilinear' or 'bicubic', got ${JSON.stringify(given.interpolation)}`,
    );
  const asked = askedSize(options.inputSize);
  const inputSize = asked ?? graph.declared?.inputSize;
  return {
    labels: options.labels ?? graph.declared?.labels ?? (classes === 1000 ? IMAGENET_LABELS : undefined),
    labelsFrom: options.labels
      ? 'given'
      : graph.declared?.labels
        ? (graph.declared.labelsFrom ?? 'the weights file')
        : classes === 1000
          ? 'ImageNet-1k'
          : undefined,
    preprocessing: preprocessingFor(given, inputSize, asked !== undefined, options.cropPct),
    precision,
    inputSize,
    convStrategy: options.convStrategy,
    winograd: options.winograd ?? true,
    autotune: options.autotune,
    device: options.device,
    adapter: options.adapter,
    recover: options.recover ?? false,
  };
}
