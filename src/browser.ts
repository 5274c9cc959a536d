/**
 * webgpu-resnet for browsers: WebGPU from navigator.gpu (or your own device), images as ImageBitmap,
 * ImageData, HTMLImageElement, HTMLCanvasElement or OffscreenCanvas, weights from a URL or memory.
 */
import { GPUUnavailableError, InputError, ModelFormatError } from './errors.js';
import { createModel, type OwnedDevice } from './api/create.js';
import type { ResNetModel } from './api/model.js';
import { isUrl, loadFromMemory, loadFromUrl, type LoadOptionsBase } from './load.js';
import type { RawImage } from './preprocess/preprocess.js';
import { requestDevice } from './runtime/device.js';

export * from './index.js';
export { clearModelCache } from './loaders/url-cache.js';

export type BrowserImage = ImageBitmap | ImageData | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas;

export interface LoadOptions extends LoadOptionsBase {}

/** Reads the pixels of a browser image through a 2D canvas. */
export async function decodeBrowserImage(image: BrowserImage): Promise<RawImage> {
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) {
    return { data: image.data, width: image.width, height: image.height, channels: 4 };
  }
  const el = image as HTMLImageElement;
  if (typeof HTMLImageElement !== 'undefined' && image instanceof HTMLImageElement && !el.complete) await el.decode();
  const width = (el as HTMLImageElement).naturalWidth || image.width;
  const height = (el as HTMLImageElement).naturalHeight || image.height;
  if (!width || !height) throw new InputError('the image has no pixels (not loaded yet?)');
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new InputError('no 2D canvas context to read the image');
  ctx.drawImage(image as CanvasImageSource, 0, 0);
  return { data: ctx.getImageData(0, 0, width, height).data, width, height, channels: 4 };
}

/**
 * Puts a browser image on `device` as an rgba8unorm texture, for model.classifyTexture / inferTexture
 * (GPU preprocessing: no CPU pixel loop). Destroy the texture when done.
 */
export function imageToTexture(device: GPUDevice, image: ImageBitmap | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | HTMLVideoElement | VideoFrame): GPUTexture {
  const el = image as Partial<HTMLImageElement & HTMLVideoElement & VideoFrame & { width: number; height: number }>;
  const width = el.naturalWidth || el.videoWidth || el.displayWidth || el.width || 0;
  const height = el.naturalHeight || el.videoHeight || el.displayHeight || el.height || 0;
  if (!width || !height) throw new InputError('the image has no pixels (not loaded yet?)');
  const texture = device.createTexture({ size: [width, height], format: 'rgba8unorm', usage: 0x4 | 0x2 | 0x10 /* TEXTURE_BINDING | COPY_DST | RENDER_ATTACHMENT */ });
  try {
    device.queue.copyExternalImageToTexture({ source: image }, { texture }, [width, height]);
  } catch (err) {
    texture.destroy();
    throw err;
  }
  return texture;
}

/** A device from navigator.gpu with the adapter's limits; destroyed when released. */
async function acquireBrowserDevice(): Promise<OwnedDevice> {
  if (typeof navigator === 'undefined' || !navigator.gpu) {
    throw new GPUUnavailableError('this browser has no WebGPU (navigator.gpu is undefined): use a recent Chrome/Edge, or enable WebGPU in your browser flags');
  }
  const { adapter, device } = await requestDevice(navigator.gpu);
  return { adapter, device, release: () => device.destroy() };
}

/** Loads a ResNet from a URL or memory and prepares it on the GPU (weights uploaded, every pipeline compiled). */
export async function loadResNet(options: LoadOptions): Promise<ResNetModel<BrowserImage>> {
  const { source } = options;
  if (source === undefined) throw new ModelFormatError('in a browser, pass { source: URL of model.json } (or files in memory)');
  const loaded = typeof source === 'string' || source instanceof URL
    ? await loadFromUrl(isUrl(source) ? source : new URL(source, globalThis.location?.href), options)
    : await loadFromMemory(source, options);
  return createModel(loaded, options, { decode: decodeBrowserImage, acquireDevice: acquireBrowserDevice });
}
