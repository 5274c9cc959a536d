/** Every error the engine raises on purpose is one of these, with a message naming what was wrong. */
export class ResNetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Weights or topology files that cannot be read or do not describe a supported network. */
export class ModelFormatError extends ResNetError {}

/** An image or input tensor the engine cannot use. */
export class InputError extends ResNetError {}

/** No usable WebGPU adapter or device, or the device failed. */
export class GPUUnavailableError extends ResNetError {}
