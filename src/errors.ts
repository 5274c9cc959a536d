/**
 * The engine's error vocabulary. Every error it raises on purpose is one of these, with a message naming
 * what was wrong; a plain Error means a broken internal invariant (a bug to report).
 *  - InputError: the caller's mistake (an image, tensor or option the engine cannot use, a call on a
 *    disposed model); the model stays usable.
 *  - ModelFormatError: weights or topology files that cannot be read, or a graph the engine cannot run
 *    (GraphError: a graph that is not well formed, raised by the graph builder and the planner).
 *  - ModelDownloadError: the pretrained model could not be fetched into the per-user cache (offline, a
 *    registry that refuses, a tarball whose integrity does not match).
 *  - ModelCacheError: a file in the model cache is damaged (not the bytes recorded when it was written) and
 *    could not be replaced; the message names the file and the command that repairs the cache.
 *  - GPUUnavailableError: the adapter or device (none found, a feature or limit it lacks, device lost).
 *  - DependencyError: an optional package the Node entry needs (Dawn's `webgpu`, `sharp`) is missing or
 *    does not load; the message names the npm install command.
 *  - TrainingError: training a head could not finish (it diverged: a learning rate too large).
 *  - NonFiniteOutputError: a run produced NaN or Infinity (weights or inputs that overflow float32, or a
 *    GPU that computed garbage); never returned as a result.
 */
export class ResNetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Weights or topology files that cannot be read or do not describe a supported network. */
export class ModelFormatError extends ResNetError {}

/** A graph that is not well formed or has an op the engine cannot run; the message names the node. */
export class GraphError extends ModelFormatError {}

/** An image, tensor or option the engine cannot use. */
export class InputError extends ResNetError {}

/** No usable WebGPU adapter or device, a feature or limit it lacks, or the device failed. */
export class GPUUnavailableError extends ResNetError {}

/** The pretrained model could not be downloaded into the model cache; the message names the folder. */
export class ModelDownloadError extends ResNetError {}

/** A damaged file in the model cache that could not be downloaded or written again; the message names it and the
 * repair. */
export class ModelCacheError extends ResNetError {}

/** A run whose output holds NaN or Infinity; the message names the output, the image and the first bad value. */
export class NonFiniteOutputError extends ResNetError {}

/** An optional peer dependency of the Node entry (webgpu, sharp) that is not installed or does not load. */
export class DependencyError extends ResNetError {}

/** Training a head could not finish (the loss diverged); nothing was kept or written. */
export class TrainingError extends ResNetError {}
