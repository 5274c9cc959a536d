/** Platform-neutral exports, shared by the Node and browser entries. */
import type { ResNetModel } from './api/model.js';
import type { FitResultOf } from './api/training.js';

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
export type { HeadSource, Precision } from './api/options.js';
export type {
  InMemoryFolder,
  InMemoryModel,
  InMemoryOnnx,
  InMemorySafetensors,
  ModelSource,
  LoadProgress,
  WeightsFormat,
} from './loaders/formats.js';
export type { FitOptions, EpochRecord, AugmentOptions, ModelTrainer } from './api/training.js';
/** What `trainer().fit` resolves to, for a model of images `I`. */
export type FitResult<I = never> = FitResultOf<ResNetModel<I>>;
export { Trainer } from './train/trainer.js';
export type { Head } from './graph/head.js';
export { headFromSafetensors } from './loaders/head-file.js';
export { headToSafetensors } from './export/head-file.js';
export type { ProfileStep } from './runtime/executor.js';
export type { AutotuneReport } from './runtime/autotune.js';
export type { Shape } from './ir/tensor.js';
export { nchwToNhwc } from './util/layout.js';
export { blendMap, mapRegion, upsampleMap, type Explanation, type ExplainOptions } from './api/explain.js';
export { turbo } from './util/colormap.js';
export { cosineSimilarity } from './util/vectors.js';
