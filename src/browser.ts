/**
 * webgpu-resnet for browsers: WebGPU from navigator.gpu (or your own device), images as ImageBitmap,
 * ImageData, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, HTMLVideoElement or VideoFrame (put on
 * the GPU as textures and preprocessed there), weights from a URL or memory.
 */
import './webgpu-names.js';
import { createModel, type OwnedDevice } from './api/create.js';
import type { ResNetModel } from './api/model.js';
import type { LoadOptionsBase } from './api/options.js';
import { GPUUnavailableError, InputError } from './errors.js';
import { isUrl, loadFromMemory, sourceOptions } from './loaders/formats.js';
import { loadFromUrl } from './loaders/url-model.js';
import type { RawImage } from './preprocess/preprocess.js';
import { requestDevice } from './runtime/device.js';
import { TuningAnswers, type TuningStore } from './runtime/tuning-answers.js';
import { Trainer } from './train/trainer.js';

export * from './index.js';
export { clearModelCache } from './loaders/url-cache.js';

/** What a browser model takes as an image. ImageData and the rest go to the GPU as textures where they can. */
export type BrowserImage =
  | ImageBitmap
  | ImageData
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | HTMLVideoElement
  | VideoFrame;

export interface LoadOptions extends LoadOptionsBase {}

/** An image's pixel size (0 x 0 when it has none yet: an image not loaded, a video without a frame). */
function sizeOf(image: BrowserImage): [number, number] {
  const el = image as Partial<HTMLImageElement & HTMLVideoElement & VideoFrame & { width: number; height: number }>;
  return [
    el.naturalWidth || el.videoWidth || el.displayWidth || el.width || 0,
    el.naturalHeight || el.videoHeight || el.displayHeight || el.height || 0,
  ];
}

/** Reads the pixels of a browser image through a 2D canvas (the CPU path: where an image cannot go to the GPU). */
export async function decodeBrowserImage(image: BrowserImage): Promise<RawImage> {
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) {
    return { data: image.data, width: image.width, height: image.height, channels: 4 };
  }
  if (typeof HTMLImageElement !== 'undefined' && image instanceof HTMLImageElement && !image.complete)
    await image.decode();
  const [width, height] = sizeOf(image);
  if (!width || !height) throw new InputError('the image has no pixels (not loaded yet?)');
  const ctx = typeof OffscreenCanvas === 'undefined' ? null : new OffscreenCanvas(width, height).getContext('2d');
  if (!ctx)
    throw new InputError(
      "this runtime has no 2D canvas to read the image's pixels (outside a page?): pass ImageData ({ data, width, " +
        'height }) instead',
    );
  ctx.drawImage(image as CanvasImageSource, 0, 0);
  return { data: ctx.getImageData(0, 0, width, height).data, width, height, channels: 4 };
}

/** TEXTURE_BINDING | COPY_DST | RENDER_ATTACHMENT (copyExternalImageToTexture needs it) */
const TEXTURE_USAGE = 0x4 | 0x2 | 0x10;

/**
 * Puts a browser image on `device` as an rgba8unorm texture, for model.classifyTexture / inferTexture
 * (GPU preprocessing: no CPU pixel loop). Destroy the texture when done.
 */
export function imageToTexture(
  device: GPUDevice,
  image: ImageBitmap | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | HTMLVideoElement | VideoFrame,
): GPUTexture {
  const [width, height] = sizeOf(image);
  if (!width || !height) throw new InputError('the image has no pixels (not loaded yet?)');
  if (typeof device.queue.copyExternalImageToTexture !== 'function') {
    throw new InputError(
      "this WebGPU implementation has no copyExternalImageToTexture (Deno's has none): pass ImageData to classify, " +
        'or write the pixels into a texture yourself',
    );
  }
  const texture = device.createTexture({ size: [width, height], format: 'rgba8unorm', usage: TEXTURE_USAGE });
  try {
    device.queue.copyExternalImageToTexture({ source: image }, { texture }, [width, height]);
  } catch (err) {
    texture.destroy();
    throw err;
  }
  return texture;
}

/**
 * classify / embed / explain's way to the GPU: ImageData written into a texture, any other image copied
 * by the browser (a VideoFrame the browser cannot import into this device, through an ImageBitmap);
 * undefined where neither works (no copyExternalImageToTexture, an image the copy refuses): the CPU path.
 */
export async function uploadBrowserImage(device: GPUDevice, image: BrowserImage): Promise<GPUTexture | undefined> {
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) {
    const texture = device.createTexture({
      size: [image.width, image.height],
      format: 'rgba8unorm',
      usage: TEXTURE_USAGE,
    });
    device.queue.writeTexture({ texture }, image.data, { bytesPerRow: 4 * image.width }, [image.width, image.height]);
    return texture;
  }
  if (typeof device.queue.copyExternalImageToTexture !== 'function') return undefined;
  if (typeof HTMLImageElement !== 'undefined' && image instanceof HTMLImageElement && !image.complete)
    await image.decode();
  try {
    return imageToTexture(device, image as Exclude<BrowserImage, ImageData>);
  } catch (err) {
    if (err instanceof InputError) throw err;
    if (typeof VideoFrame === 'undefined' || !(image instanceof VideoFrame)) return undefined;
    const bitmap = await createImageBitmap(image); // Chromium on SwiftShader: "Failed to copy content" from frames
    try {
      return imageToTexture(device, bitmap);
    } catch {
      return undefined;
    } finally {
      bitmap.close();
    }
  }
}

/** A device from navigator.gpu with the adapter's limits; destroyed when released. */
async function acquireBrowserDevice(): Promise<OwnedDevice> {
  if (typeof navigator === 'undefined' || !navigator.gpu) {
    throw new GPUUnavailableError(
      'this browser has no WebGPU (navigator.gpu is undefined): use a recent Chrome/Edge, or enable WebGPU in your ' +
        'browser flags',
    );
  }
  const { adapter, device } = await requestDevice(navigator.gpu);
  return { adapter, device, release: () => device.destroy() };
}

/** Loads a ResNet from a URL or memory and prepares it on the GPU (weights uploaded, every pipeline compiled). */
export async function loadResNet(options: LoadOptions): Promise<ResNetModel<BrowserImage>> {
  const { source } = options;
  if (source === undefined)
    throw new InputError(
      'in a browser, pass { source: the URL of a model.json, .safetensors or .onnx file } (or the files in memory)',
    );
  const loaded =
    typeof source === 'string' || source instanceof URL
      ? await loadFromUrl(isUrl(source) ? source : pageUrl(String(source)), sourceOptions(options))
      : await loadFromMemory(source, sourceOptions(options));
  return createModel(loaded, options, {
    decode: decodeBrowserImage,
    upload: uploadBrowserImage,
    acquireDevice: acquireBrowserDevice,
    tuning: () => (pageTuning ??= new TuningAnswers(localTuningStore())),
    trainer: (model) => new Trainer(model),
  });
}

/** The autotune's answers for this page (or worker), made on first use. */
let pageTuning: TuningAnswers | undefined;

/** The autotune's answers in the page's localStorage (none in a worker, or where storage is refused: they then last
 * the page). */
function localTuningStore(): TuningStore | undefined {
  let storage: Storage | undefined;
  try {
    storage = globalThis.localStorage ?? undefined;
  } catch {
    return undefined; // storage refused (sandboxed frame, privacy settings)
  }
  if (!storage) return undefined;
  const key = 'webgpu-resnet:autotune';
  return {
    read: async () => storage!.getItem(key) ?? undefined,
    write: async (text) => storage!.setItem(key, text),
  };
}

/** A relative URL against the page's; outside a page (no location) a clear error. */
function pageUrl(path: string): URL {
  const base = globalThis.location?.href;
  if (!base)
    throw new InputError(
      `source "${path}" is not a URL, and there is no page to resolve it against (no location): pass a full URL (a ` +
        `file: URL for a local file)`,
    );
  return new URL(path, base);
}
