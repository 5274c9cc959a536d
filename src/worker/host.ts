/**
 * The worker side of webgpu-resnet/worker: this script runs in a dedicated Worker, owns the GPU device
 * and the model, and answers the page's requests (src/worker/protocol.ts). Images arrive transferred:
 * ImageBitmaps, VideoFrames and ImageData go to the GPU as textures and through the preprocessing kernel,
 * as on the page (so the same answers); frames and bitmaps are closed when done.
 */
import { loadResNet, type BrowserImage, type LoadOptions } from '../browser.js';
import type { ResNetModel } from '../api/model.js';
import { InputError } from '../errors.js';
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
 * One image through the model (which puts it on the GPU as a texture: src/browser.ts uploadBrowserImage);
 * a Blob is decoded into an ImageBitmap first. Frames and bitmaps are closed when done.
 */
async function withImage<T>(image: Image, run: (m: ResNetModel<BrowserImage>, i: BrowserImage) => Promise<T>): Promise<T> {
  const m = loaded();
  const decoded = typeof Blob !== 'undefined' && image instanceof Blob ? await createImageBitmap(image) : image as BrowserImage;
  try {
    return await run(m, decoded);
  } finally {
    if ((typeof ImageBitmap !== 'undefined' && decoded instanceof ImageBitmap) || (typeof VideoFrame !== 'undefined' && decoded instanceof VideoFrame)) decoded.close();
  }
}

const classify = (image: Image, options: ImageOptions = {}) => withImage(image, (m, i) => m.classify(i, options));
const embed = (image: Image, options: ImageOptions = {}) => withImage(image, (m, i) => m.embed(i, options));
const explain = (image: Image, options: ImageOptions & { classIndex?: number } = {}) => withImage(image, (m, i) => m.explain(i, options));

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
