/**
 * Image -> input tensor, on the CPU: RGB, resize so the shorter side is `resizeTo` (antialiased bilinear or
 * bicubic, the filters PIL and torchvision use), center crop `cropTo`, then per-channel normalization.
 * Only the cropped window of the resized image is ever computed.
 */
import { InputError } from '../errors.js';

/** Decoded pixels: 8-bit, interleaved, 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** How a model wants its input. `value = (pixel * scale - mean[c]) / std[c]`, channels in `order`. */
export interface Preprocessing {
  resizeTo: number;
  cropTo: number;
  order: 'RGB' | 'BGR';
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** The resize's filter, antialiased as PIL's: 'bilinear' (default) or 'bicubic' (timm's and transformers'). */
  interpolation?: 'bilinear' | 'bicubic';
  /** The crop fraction it was declared with (a hub folder's crop_pct): other input sizes keep it. */
  cropPct?: number;
}

/** Keras "caffe" style, what the Keras ResNet-50 was trained with: BGR, mean subtracted, no scaling. */
export const CAFFE_PREPROCESSING: Preprocessing = {
  resizeTo: 256,
  cropTo: 224,
  order: 'BGR',
  scale: 1,
  mean: [103.939, 116.779, 123.68],
  std: [1, 1, 1],
};

/** PyTorch / torchvision style: RGB / 255, minus the ImageNet mean, divided by its standard deviation. */
export const TORCH_PREPROCESSING: Preprocessing = {
  resizeTo: 256,
  cropTo: 224,
  order: 'RGB',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/** The preprocessings the engine ships, by the names files and the CLI use: the one reading of a name. */
export const NAMED_PREPROCESSING: Readonly<Record<'caffe' | 'torch', Preprocessing>> = {
  caffe: CAFFE_PREPROCESSING,
  torch: TORCH_PREPROCESSING,
};

/** The shipped preprocessing `name` stands for, or undefined. */
export const namedPreprocessing = (name: string): Preprocessing | undefined =>
  Object.hasOwn(NAMED_PREPROCESSING, name) ? NAMED_PREPROCESSING[name as 'caffe'] : undefined;

/** Size of the image after the shorter side is scaled to `resizeTo` (aspect ratio kept, rounded). */
export function resizedSize(width: number, height: number, resizeTo: number): [number, number] {
  const scale = resizeTo / Math.min(width, height);
  return width <= height
    ? [resizeTo, Math.max(1, Math.round(height * scale))]
    : [Math.max(1, Math.round(width * scale)), resizeTo];
}

/**
 * Which crop of the resized image is taken, and whether it is mirrored: the center, as it is, unless a
 * caller asks otherwise (training's augmentation: random crops and flips).
 */
export interface CropView {
  /** The crop's top-left corner as a share of the room the resized image leaves around it, x and y in [0, 1] ([0.5,
   * 0.5]: the center). */
  at: readonly [number, number];
  /** Mirrored left to right. */
  flip: boolean;
}

export const CENTER_VIEW: CropView = { at: [0.5, 0.5], flip: false };

/** Top-left corner of the crop (centered unless `view` says where), in resized coordinates. */
export function cropOrigin(
  resizedWidth: number,
  resizedHeight: number,
  cropTo: number,
  view: CropView = CENTER_VIEW,
): [number, number] {
  const [ax, ay] = view.at;
  if (!(ax >= 0 && ax <= 1 && ay >= 0 && ay <= 1))
    throw new InputError(`a crop's position must be shares in [0, 1], got [${ax}, ${ay}]`);
  return [Math.floor((resizedWidth - cropTo) * ax), Math.floor((resizedHeight - cropTo) * ay)];
}

interface FilterTaps {
  start: Int32Array; // first source index for each output index
  count: Int32Array; // number of taps
  weights: Float32Array; // count[i] weights at i * maxTaps
  maxTaps: number;
}

/**
 * The resize filters, as PIL defines them (and torchvision, timm and transformers use through it): the
 * triangle (bilinear, support 1) and Keys' cubic with a = -0.5 (bicubic, support 2). Shrinking widens a
 * filter by the scale (antialiasing).
 */
export const RESIZE_FILTERS = {
  bilinear: { support: 1, weight: (x: number) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    weight(x: number) {
      const a = -0.5;
      const d = Math.abs(x);
      if (d < 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
      return d < 2 ? (((d - 5) * d + 8) * d - 4) * a : 0;
    },
  },
} as const;

/** Filter taps mapping `outCount` outputs (starting at resized index `first`) onto `inSize` sources. */
function filterTaps(
  inSize: number,
  outSize: number,
  first: number,
  outCount: number,
  interpolation: Preprocessing['interpolation'] = 'bilinear',
): FilterTaps {
  const filter = RESIZE_FILTERS[interpolation];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outCount);
  const count = new Int32Array(outCount);
  const weights = new Float32Array(outCount * maxTaps);
  for (let i = 0; i < outCount; i++) {
    const center = (first + i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(inSize, Math.floor(center + support + 0.5));
    let total = 0;
    for (let x = lo; x < hi; x++) {
      const w = filter.weight((x - center + 0.5) / filterScale);
      weights[i * maxTaps + (x - lo)] = w;
      total += w;
    }
    if (total !== 0) for (let x = 0; x < hi - lo; x++) weights[i * maxTaps + x]! /= total;
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, maxTaps };
}

const clipByte = (v: number): number => Math.min(255, Math.max(0, v));

/**
 * Resize + center crop (or the crop `view` names, mirrored if it says so) + normalize one image into
 * `out` (NHWC, `cropTo` x `cropTo` x 3) at `offset`. Returns `out`.
 */
export function preprocessImage(
  image: RawImage,
  spec: Preprocessing,
  out = new Float32Array(spec.cropTo * spec.cropTo * 3),
  offset = 0,
  view: CropView = CENTER_VIEW,
): Float32Array {
  const { width, height, channels, data } = image;
  if (!(width >= 1 && height >= 1)) throw new InputError(`image has no pixels (${width}x${height})`);
  if (data.length < width * height * channels) {
    throw new InputError(
      `image data holds ${data.length} bytes, ${width}x${height}x${channels} needs ${width * height * channels}`,
    );
  }
  const crop = spec.cropTo;
  const [rw, rh] = resizedSize(width, height, spec.resizeTo);
  if (rw < crop || rh < crop) throw new InputError(`resizeTo (${spec.resizeTo}) is smaller than cropTo (${crop})`);
  const [cx, cy] = cropOrigin(rw, rh, crop, view);
  const tx = filterTaps(width, rw, cx, crop, spec.interpolation);
  const ty = filterTaps(height, rh, cy, crop, spec.interpolation);

  // Horizontal pass over the source rows the vertical pass needs: rows x crop x RGB.
  const rowLo = ty.start[0]!;
  const rowHi = ty.start[crop - 1]! + ty.count[crop - 1]!;
  const tmp = new Float32Array((rowHi - rowLo) * crop * 3);
  const gray = channels < 3;
  for (let y = rowLo; y < rowHi; y++) {
    const rowBase = y * width * channels;
    const tmpBase = (y - rowLo) * crop * 3;
    for (let x = 0; x < crop; x++) {
      let r = 0,
        g = 0,
        b = 0;
      const s = tx.start[x]!,
        n = tx.count[x]!,
        wBase = x * tx.maxTaps;
      for (let t = 0; t < n; t++) {
        const w = tx.weights[wBase + t]!;
        const p = rowBase + (s + t) * channels;
        if (gray) {
          const v = data[p]! * w;
          r += v;
          g += v;
          b += v;
        } else {
          r += data[p]! * w;
          g += data[p + 1]! * w;
          b += data[p + 2]! * w;
        }
      }
      // clipped to the byte range after each pass, as Pillow does (a cubic's lobes overshoot at edges)
      tmp[tmpBase + x * 3] = clipByte(r);
      tmp[tmpBase + x * 3 + 1] = clipByte(g);
      tmp[tmpBase + x * 3 + 2] = clipByte(b);
    }
  }

  // Vertical pass, then normalization and channel order.
  const [c0, c1, c2] = spec.order === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const m = spec.mean,
    sd = spec.std,
    k = spec.scale;
  for (let y = 0; y < crop; y++) {
    const s = ty.start[y]!,
      n = ty.count[y]!,
      wBase = y * ty.maxTaps;
    for (let x = 0; x < crop; x++) {
      let r = 0,
        g = 0,
        b = 0;
      for (let t = 0; t < n; t++) {
        const w = ty.weights[wBase + t]!;
        const p = ((s + t - rowLo) * crop + x) * 3;
        r += tmp[p]! * w;
        g += tmp[p + 1]! * w;
        b += tmp[p + 2]! * w;
      }
      const rgb = [clipByte(r), clipByte(g), clipByte(b)];
      const o = offset + (y * crop + (view.flip ? crop - 1 - x : x)) * 3;
      out[o] = (rgb[c0]! * k - m[0]) / sd[0];
      out[o + 1] = (rgb[c1]! * k - m[1]) / sd[1];
      out[o + 2] = (rgb[c2]! * k - m[2]) / sd[2];
    }
  }
  return out;
}
