/** Platform-neutral exports, shared by the Node and browser entries. */
export {
  ResNetModel,
  type Prediction,
  type InferOptions,
  type ModelInfo,
  type BlockInfo,
  type EmbedOptions,
  type LesionOptions,
} from './api/model.js';
export {
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
} from './errors.js';
export {
  CAFFE_PREPROCESSING,
  TORCH_PREPROCESSING,
  preprocessImage,
  type CropView,
  type Preprocessing,
  type RawImage,
} from './preprocess/preprocess.js';
export { IMAGENET_LABELS } from './labels.js';
export type {
  HeadSource,
  InMemoryModel,
  InMemoryOnnx,
  InMemorySafetensors,
  ModelSource,
  LoadProgress,
  Precision,
  WeightsFormat,
} from './load.js';
export { Trainer, type FitOptions, type FitResult, type EpochRecord, type AugmentOptions } from './train/trainer.js';
export { headFromSafetensors, headToSafetensors, type Head } from './train/head.js';
export type { ProfileStep } from './runtime/executor.js';
export type { AutotuneReport } from './runtime/autotune.js';
export type { Shape } from './graph/ir.js';
export { nchwToNhwc } from './util/layout.js';
export { blendMap, mapRegion, upsampleMap, type Explanation, type ExplainOptions } from './api/explain.js';
export { turbo } from './util/colormap.js';
export { cosineSimilarity } from './util/vectors.js';
