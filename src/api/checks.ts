/**
 * The public API's checks of what a caller hands in, each an InputError that names the problem. They run
 * before any GPU work, so a refused call leaves the model as it was. And the one check of what comes out:
 * every value finite.
 */
import { InputError, NonFiniteOutputError } from '../errors.js';
import type { PlanOutputs } from '../plan/planner.js';
import { BUFFER, TEXTURE_BINDING } from '../runtime/usage.js';
import { firstNonFinite } from '../util/vectors.js';

const COPY_DST = BUFFER.COPY_DST;

/** The outputs a run can return (ResNetModel.infer's `output`), and 'input' (the preprocessed tensor, texture runs). */
export type Output = keyof PlanOutputs;

/**
 * `output` (default 'probabilities') if it is one of `allowed` and this network has it (logits need a final
 * softmax, features a global average pool).
 */
export function checkOutput<O extends Output | 'input'>(
  output: O | undefined,
  allowed: readonly O[],
  outputs: PlanOutputs,
): O {
  const chosen = (output ?? 'probabilities') as O;
  if (!allowed.includes(chosen)) {
    const list = allowed.map((a) => `'${a}'`);
    throw new InputError(
      `output must be ${list.slice(0, -1).join(', ')} or ${list.at(-1)}, got ${JSON.stringify(chosen)}`,
    );
  }
  if (chosen === 'logits' && !outputs.logits)
    throw new InputError('this model does not end in a softmax: no separate logits');
  if (chosen === 'features' && !outputs.features)
    throw new InputError('this model has no global average pool: no features to return');
  return chosen;
}

/** An input tensor for `infer`: a Float32Array of `batch` images of `shape` ([H, W, C]) in `layout`. */
export function checkTensor(
  input: unknown,
  batch: unknown,
  layout: unknown,
  [h, w, c]: readonly [number, number, number],
): void {
  if (!(input instanceof Float32Array)) throw new InputError('input must be a Float32Array');
  if (!Number.isInteger(batch) || (batch as number) < 1)
    throw new InputError(`batch must be a positive integer, got ${batch}`);
  if (layout !== 'nhwc' && layout !== 'nchw')
    throw new InputError(`layout must be 'nhwc' or 'nchw', got ${JSON.stringify(layout)}`);
  const n = batch as number;
  if (input.length !== n * h * w * c) {
    const dims = layout === 'nhwc' ? `${n}x${h}x${w}x${c}` : `${n}x${c}x${h}x${w}`;
    throw new InputError(
      `input holds ${input.length} values, expected ${dims} = ${n * h * w * c} (${layout.toUpperCase()})`,
    );
  }
}

/** What the preprocessing kernel reads: 8-bit RGBA or BGRA; the -srgb forms are encoded back to their bytes. */
const TEXTURE_FORMATS: readonly GPUTextureFormat[] = ['rgba8unorm', 'rgba8unorm-srgb', 'bgra8unorm', 'bgra8unorm-srgb'];

/** A texture the preprocessing kernel can read. */
export function checkTexture(texture: GPUTexture): void {
  if (!TEXTURE_FORMATS.includes(texture.format)) {
    throw new InputError(`texture format ${texture.format} is not supported (${TEXTURE_FORMATS.join(', ')})`);
  }
  if (!(texture.usage & TEXTURE_BINDING))
    throw new InputError('the texture needs TEXTURE_BINDING usage to be read by the preprocessing kernel');
}

/** topK of `classify`: a positive number (rounded down, at most the number of classes). */
export function checkTopK(topK: number): number {
  if (!Number.isFinite(topK) || topK < 1) throw new InputError(`topK must be a positive integer, got ${topK}`);
  return Math.floor(topK);
}

/**
 * A run's output as it came back, or a NonFiniteOutputError naming the image and the first NaN/Infinity:
 * a NaN is never an answer. Inputs and weights are checked to be finite before, so this is float32
 * overflow inside the network (weights far outside a trained network's range) or a GPU fault.
 */
export function finiteOutput(values: Float32Array, what: string, perImage: number): Float32Array {
  const i = firstNonFinite(values);
  if (i < 0) return values;
  throw new NonFiniteOutputError(
    `the ${what} of image ${Math.floor(i / perImage)} are not finite (value ${i % perImage} is ${values[i]}): the ` +
      `network overflowed float32 on this input, ` +
      "so its weights (finite when loaded) are far outside a trained network's range, or the GPU computed garbage",
  );
}

/** A GPU destination for `bytes` of output: a buffer with COPY_DST usage and room from `offset` (a multiple of 4). */
export function checkTarget(
  into: { buffer: GPUBuffer; offset?: number },
  bytes: number,
): { buffer: GPUBuffer; offset?: number } {
  const offset = into.offset ?? 0;
  if (!into.buffer || typeof into.buffer.size !== 'number') throw new InputError('into.buffer must be a GPUBuffer');
  if (!(into.buffer.usage & COPY_DST))
    throw new InputError('into.buffer needs COPY_DST usage: the output is copied into it');
  if (!(Number.isInteger(offset) && offset >= 0 && offset % 4 === 0))
    throw new InputError(`into.offset must be a multiple of 4, got ${offset}`);
  if (offset + bytes > into.buffer.size)
    throw new InputError(
      `into.buffer holds ${into.buffer.size} bytes; the output needs ${bytes} from offset ${offset}`,
    );
  return into;
}
