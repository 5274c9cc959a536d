/**
 * The worker side of webgpu-resnet/worker: this script runs in a dedicated Worker, owns the GPU device
 * and the model, and answers the page's requests (src/worker/protocol.ts). Images arrive transferred:
 * an ImageBitmap is read like on the page (same preprocessing, so the same answers), a VideoFrame goes to
 * the GPU as a texture and through the preprocessing kernel; both are closed when done.
 */
import { imageToTexture, loadResNet, type BrowserImage, type LoadOptions } from '../browser.js';
import type { ResNetModel } from '../api/model.js';
import { InputError } from '../errors.js';
import { normalizeL2 } from '../util/vectors.js';
import { errorToMessage, type Answer, type Loaded, type Request } from './protocol.js';

type Image = ImageBitmap | VideoFrame | ImageData | Blob;
interface ImageOptions { topK?: number; skipBlocks?: string[]; normalize?: boolean }

let model: ResNetModel<BrowserImage> | undefined;
const post = (answer: Answer, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(answer, transfer);

function loaded(): ResNetModel<BrowserImage> {
  if (!model) throw new InputError('the worker has no model (not loaded yet, or disposed)');
  return model;
}

/**
 * The frame as a GPU texture: copied straight from the VideoFrame, or where the browser cannot import
 * that frame into this device (Chromium on SwiftShader: "Failed to copy content"), through an ImageBitmap.
 */
async function frameTexture(device: GPUDevice, frame: VideoFrame): Promise<GPUTexture> {
  try {
    return imageToTexture(device, frame);
  } catch {
    const bitmap = await createImageBitmap(frame);
    try {
      return imageToTexture(device, bitmap);
    } finally {
      bitmap.close();
    }
  }
}

/** Runs `run` on the image's GPU texture (a VideoFrame) and releases the frame and the texture. */
async function onTexture<T>(m: ResNetModel<BrowserImage>, frame: VideoFrame, run: (t: GPUTexture) => Promise<T>): Promise<T> {
  let texture: GPUTexture | undefined;
  try {
    texture = await frameTexture(m.device, frame);
    return await run(texture);
  } finally {
    texture?.destroy();
    frame.close();
  }
}

/**
 * One image through the model: a VideoFrame on the GPU (onFrame gets its texture), anything else as a
 * browser image (a Blob decoded first); the frame or bitmap is closed when done.
 */
async function withImage<T>(image: Image, onFrame: (m: ResNetModel<BrowserImage>, t: GPUTexture) => Promise<T>, onImage: (m: ResNetModel<BrowserImage>, i: BrowserImage) => Promise<T>): Promise<T> {
  const m = loaded();
  if (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame) return onTexture(m, image, (t) => onFrame(m, t));
  const decoded = typeof Blob !== 'undefined' && image instanceof Blob ? await createImageBitmap(image) : (image as BrowserImage);
  try {
    return await onImage(m, decoded);
  } finally {
    if (decoded instanceof ImageBitmap) decoded.close();
  }
}

const classify = (image: Image, options: ImageOptions = {}) =>
  withImage(image, (m, t) => m.classifyTexture(t, options), (m, i) => m.classify(i, options));

const embed = (image: Image, options: ImageOptions = {}) =>
  withImage(image, async (m, t) => {
    const features = (await m.inferTexture(t, { output: 'features', skipBlocks: options.skipBlocks }))!;
    return options.normalize ? normalizeL2(features) : features;
  }, (m, i) => m.embed(i, options));

const explain = (image: Image, options: ImageOptions & { classIndex?: number } = {}) =>
  withImage(image, (m, t) => m.explainTexture(t, options), (m, i) => m.explain(i, options));

async function handle({ id, method, args }: Request): Promise<unknown> {
  switch (method) {
    case 'load': {
      if (model) throw new InputError('this worker already holds a model');
      const options = args[0] as LoadOptions;
      model = await loadResNet({ ...options, onProgress: (p) => post({ id, progress: p }) });
      const result: Loaded = { info: model.info, blocks: [...model.blocks], labels: [...model.labels], preprocessing: model.preprocessing };
      return result;
    }
    case 'classify': return classify(args[0] as Image, args[1] as ImageOptions);
    case 'embed': return embed(args[0] as Image, args[1] as ImageOptions);
    case 'explain': return explain(args[0] as Image, args[1] as ImageOptions & { classIndex?: number });
    case 'infer': return loaded().infer(args[0] as Float32Array, args[1] as object);
    case 'profile': return loaded().profile(args[0] as number, args[1] as object);
    case 'dispose':
      model?.dispose();
      model = undefined;
      return undefined;
  }
}

self.addEventListener('message', (event: MessageEvent<Request>) => {
  const request = event.data;
  handle(request).then(
    (value) => post({ id: request.id, ok: true, value }, value instanceof Float32Array && value.byteLength === value.buffer.byteLength ? [value.buffer] : []),
    (err: unknown) => post({ id: request.id, ok: false, error: errorToMessage(err) }),
  );
});
