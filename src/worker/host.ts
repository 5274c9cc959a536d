/**
 * The worker side of webgpu-resnet/worker: this script runs in a dedicated Worker, owns the GPU device
 * and the model, and answers the page's requests (src/worker/protocol.ts: one handler per method of
 * WorkerMethods). Images arrive transferred: ImageBitmaps, VideoFrames and ImageData go to the GPU as
 * textures and through the preprocessing kernel, as on the page (so the same answers); frames and bitmaps
 * are closed when done.
 */
import type { ResNetModel } from '../api/model.js';
import { readHead } from '../api/options.js';
import { type BrowserImage, loadResNet } from '../browser.js';
import { InputError } from '../errors.js';
import {
  type Answer,
  type Crossing,
  errorToMessage,
  type Loaded,
  METHODS,
  type Method,
  type Request,
  type WorkerImage,
  type WorkerMethods,
} from './protocol.js';

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
const decode = async (image: WorkerImage): Promise<BrowserImage> =>
  typeof Blob !== 'undefined' && image instanceof Blob ? await createImageBitmap(image) : (image as BrowserImage);

/** Frames and bitmaps closed (ImageData has nothing to close). */
function close(image: BrowserImage): void {
  const bitmap = typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap;
  if (bitmap || (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame)) image.close();
}

/**
 * One image through the model (which puts it on the GPU as a texture: src/browser.ts uploadBrowserImage);
 * a Blob is decoded into an ImageBitmap first. Frames and bitmaps are closed when done.
 */
async function withImage<T>(
  image: WorkerImage,
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

/** Every method of the protocol; the callbacks in a request's options post their calls back to the page. */
const HANDLERS: { [M in Method]: WorkerMethods[M] } = {
  async load(options) {
    if (model) throw new InputError('this worker already holds a model');
    model = base = await loadResNet(options);
    const result: Loaded = {
      info: model.info,
      blocks: [...model.blocks],
      labels: [...model.labels],
      preprocessing: model.preprocessing,
    };
    return result;
  },
  classify: (image, options = {}) => withImage(image, (m, i) => m.classify(i, options)),
  embed: (image, options = {}) => withImage(image, (m, i) => m.embed(i, options)),
  explain: (image, options = {}) => withImage(image, (m, i) => m.explain(i, options)),
  infer: (input, options) => loaded().infer(input, options),
  profile: (batch, options) => loaded().profile(batch, options),
  /** New classes from the examples, trained on the base's features; the worker answers with them from now on. */
  async train(examples, options = {}) {
    loaded();
    const trainer = base!.trainer();
    const opened: BrowserImage[] = [];
    try {
      for (const { image, label } of examples) {
        const decoded = await decode(image);
        opened.push(decoded);
        trainer.add(decoded, label);
      }
      const { model: trained, ...result } = await trainer.fit(options);
      answerWith(trained);
      return result;
    } finally {
      opened.forEach(close);
    }
  },
  /** Answers with `head` (trained, or a head file's bytes) from now on; undefined: with the weights' own classifier. */
  async useHead(head) {
    loaded();
    const next = head === undefined ? base! : await base!.withHead(await readHead(head));
    answerWith(next);
    return [...next.labels];
  },
  async dispose() {
    answerWith(undefined);
    base?.dispose();
    base = undefined;
  },
};

/** The request's arguments with its callbacks made again: each posts its call back to the page. */
function withListeners({ id, method, args }: Request): unknown[] {
  const spec = Object.hasOwn(METHODS, method) ? (METHODS[method] as Crossing<Method>).listeners : undefined;
  if (!spec) return args;
  const options = { ...((args[spec.at] as object | undefined) ?? {}) } as Record<string, unknown>;
  for (const name of spec.names) options[name] = (...a: unknown[]) => post({ id, listener: name, args: a });
  const out = [...args];
  out[spec.at] = options;
  return out;
}

self.addEventListener('message', (event: MessageEvent<Request>) => {
  const request = event.data;
  const handler = Object.hasOwn(HANDLERS, request.method)
    ? (HANDLERS[request.method] as (...args: unknown[]) => Promise<unknown>)
    : () => Promise.reject(new Error(`the worker has no method ${JSON.stringify(request.method)} (another version?)`));
  // a handler that throws before it returns a promise (no model yet) answers with the error too
  (async () => handler(...withListeners(request)))().then(
    (value) => {
      const whole = value instanceof Float32Array && value.byteLength === value.buffer.byteLength;
      post({ id: request.id, ok: true, value }, whole ? [value.buffer] : []);
    },
    (err: unknown) => post({ id: request.id, ok: false, error: errorToMessage(err) }),
  );
});
