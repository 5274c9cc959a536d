/**
 * The worker side of webgpu-resnet/worker: this script runs in a dedicated Worker, owns the GPU device
 * and the model, and answers the page's requests (src/worker/protocol.ts). Images arrive transferred:
 * ImageBitmaps, VideoFrames and ImageData go to the GPU as textures and through the preprocessing kernel,
 * as on the page (so the same answers); frames and bitmaps are closed when done.
 */
import { loadResNet, type BrowserImage, type LoadOptions } from '../browser.js';
import type { ResNetModel } from '../api/model.js';
import { InputError } from '../errors.js';
import { readHead } from '../load.js';
import type { Head } from '../train/head.js';
import type { FitOptions } from '../train/trainer.js';
import { errorToMessage, type Answer, type Loaded, type Request, type Trained } from './protocol.js';

type Image = ImageBitmap | VideoFrame | ImageData | Blob;
interface ImageOptions {
  topK?: number;
  skipBlocks?: string[];
  normalize?: boolean;
}

/** The model as loaded, and the one that answers (the same, or one with a trained head: train, useHead). */
let base: ResNetModel<BrowserImage> | undefined;
let model: ResNetModel<BrowserImage> | undefined;
const post = (answer: Answer, transfer: Transferable[] = []) =>
  (self as unknown as Worker).postMessage(answer, transfer);

function loaded(): ResNetModel<BrowserImage> {
  if (!model) throw new InputError('the worker has no model (not loaded yet, or disposed)');
  return model;
}

/** The model that answers from now on; the one before is disposed unless it is the base. */
function answerWith(next: ResNetModel<BrowserImage> | undefined): void {
  if (model !== base) model?.dispose();
  model = next;
}

/** A Blob decoded into an ImageBitmap; other images as they are. */
const decode = async (image: Image): Promise<BrowserImage> =>
  typeof Blob !== 'undefined' && image instanceof Blob ? await createImageBitmap(image) : (image as BrowserImage);

/** Frames and bitmaps closed (ImageData has nothing to close). */
function close(image: BrowserImage): void {
  if (
    (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) ||
    (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame)
  )
    image.close();
}

/**
 * One image through the model (which puts it on the GPU as a texture: src/browser.ts uploadBrowserImage);
 * a Blob is decoded into an ImageBitmap first. Frames and bitmaps are closed when done.
 */
async function withImage<T>(
  image: Image,
  run: (m: ResNetModel<BrowserImage>, i: BrowserImage) => Promise<T>,
): Promise<T> {
  const m = loaded();
  const decoded = await decode(image);
  try {
    return await run(m, decoded);
  } finally {
    close(decoded);
  }
}

const classify = (image: Image, options: ImageOptions = {}) => withImage(image, (m, i) => m.classify(i, options));
const embed = (image: Image, options: ImageOptions = {}) => withImage(image, (m, i) => m.embed(i, options));
const explain = (image: Image, options: ImageOptions & { classIndex?: number } = {}) =>
  withImage(image, (m, i) => m.explain(i, options));

/** New classes from the examples, trained on the base's features; the worker answers with them from now on. */
async function train(
  id: number,
  examples: Array<{ image: Image; label: string }>,
  options: FitOptions = {},
): Promise<Trained> {
  loaded();
  const trainer = base!.trainer();
  const opened: BrowserImage[] = [];
  try {
    for (const { image, label } of examples) {
      const decoded = await decode(image);
      opened.push(decoded);
      trainer.add(decoded, label);
    }
    const { model: trained, ...result } = await trainer.fit({
      ...options,
      onEpoch: (epoch) => post({ id, epoch }),
      onEmbedded: (embedded, total) => post({ id, embedded, total }),
    });
    answerWith(trained);
    return result;
  } finally {
    opened.forEach(close);
  }
}

/** Answers with `head` (trained, or a head file's bytes) from now on; undefined: with the weights' own classifier. */
async function useHead(head: Head | Uint8Array | undefined): Promise<string[]> {
  loaded();
  const next = head === undefined ? base! : await base!.withHead(await readHead(head));
  answerWith(next);
  return [...next.labels];
}

async function handle({ id, method, args }: Request): Promise<unknown> {
  switch (method) {
    case 'load': {
      if (model) throw new InputError('this worker already holds a model');
      const options = args[0] as LoadOptions;
      model = base = await loadResNet({ ...options, onProgress: (p) => post({ id, progress: p }) });
      const result: Loaded = {
        info: model.info,
        blocks: [...model.blocks],
        labels: [...model.labels],
        preprocessing: model.preprocessing,
      };
      return result;
    }
    case 'classify':
      return classify(args[0] as Image, args[1] as ImageOptions);
    case 'embed':
      return embed(args[0] as Image, args[1] as ImageOptions);
    case 'explain':
      return explain(args[0] as Image, args[1] as ImageOptions & { classIndex?: number });
    case 'infer':
      return loaded().infer(args[0] as Float32Array, args[1] as object);
    case 'profile':
      return loaded().profile(args[0] as number, args[1] as object);
    case 'train':
      return train(id, args[0] as Array<{ image: Image; label: string }>, args[1] as FitOptions);
    case 'useHead':
      return useHead(args[0] as Head | Uint8Array | undefined);
    case 'dispose':
      answerWith(undefined);
      base?.dispose();
      base = undefined;
      return undefined;
  }
}

self.addEventListener('message', (event: MessageEvent<Request>) => {
  const request = event.data;
  handle(request).then(
    (value) =>
      post(
        { id: request.id, ok: true, value },
        value instanceof Float32Array && value.byteLength === value.buffer.byteLength ? [value.buffer] : [],
      ),
    (err: unknown) => post({ id: request.id, ok: false, error: errorToMessage(err) }),
  );
});
