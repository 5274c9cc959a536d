/**
 * Class activation maps as the caller gets them (ResNetModel.explain): the `cam` output of a run (every
 * class's map, then the logits; src/kernels/class-activation-maps.ts) -> one Explanation per class asked for,
 * and a bilinear upsampling of a map to an image's size for display.
 */
import { InputError } from '../errors.js';
import type { Preprocessing } from '../preprocess/preprocess.js';
import { turbo } from '../util/colormap.js';
import { checkTopK } from './checks.js';

export interface ExplainOptions {
  /** The class to explain (default: the top-1, or each of the top `topK`). */
  classIndex?: number;
  /** Explain each of the `topK` most probable classes (default 1; ignored with classIndex). */
  topK?: number;
}

export interface Explanation {
  classIndex: number;
  label: string;
  probability: number;
  logit: number;
  /** The dense layer's bias for the class: mean(map) + bias = logit. */
  bias: number;
  /** The map's size: the last stage's resolution (7 x 7 for a 224 input). */
  height: number;
  width: number;
  /** The class activation map, row-major: sum over channels of the class's dense weight times the last stage's output.
   * */
  map: Float32Array;
}

/** What a model knows about its classifier: the map size and the dense layer's bias. */
export interface Classifier {
  height: number;
  width: number;
  bias: Float32Array;
}

/** One image's explanations from its block of the `cam` output ([HW + 1][padded classes]). */
export function readExplanations(
  raw: Float32Array,
  classifier: Classifier,
  labels: readonly string[],
  options: ExplainOptions = {},
): Explanation[] {
  const { height, width, bias } = classifier;
  const classes = bias.length;
  const hw = height * width;
  const row = raw.length / (hw + 1);
  const logits = raw.subarray(hw * row, hw * row + classes);
  let max = -Infinity;
  for (const l of logits) max = Math.max(max, l);
  let sum = 0;
  for (const l of logits) sum += Math.exp(l - max);
  let chosen: number[];
  if (options.classIndex !== undefined) {
    const c = options.classIndex;
    if (!Number.isInteger(c) || c < 0 || c >= classes)
      throw new InputError(`classIndex must be an integer from 0 to ${classes - 1}, got ${c}`);
    chosen = [c];
  } else {
    const k = checkTopK(options.topK ?? 1);
    chosen = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, k);
  }
  return chosen.map((c) => {
    const map = new Float32Array(hw);
    for (let p = 0; p < hw; p++) map[p] = raw[p * row + c]!;
    return {
      classIndex: c,
      label: labels[c]!,
      probability: Math.exp(logits[c]! - max) / sum,
      logit: logits[c]!,
      bias: bias[c]!,
      height,
      width,
      map,
    };
  });
}

/**
 * A map resized to `width` x `height` (bilinear, pixel centers aligned as in image resizing), for an
 * overlay on the image the map explains (the model's center crop of it).
 */
export function upsampleMap(
  { map, width: mw, height: mh }: Pick<Explanation, 'map' | 'width' | 'height'>,
  width: number,
  height: number,
): Float32Array {
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(mh - 1, Math.max(0, ((y + 0.5) * mh) / height - 0.5));
    const y0 = Math.floor(sy),
      y1 = Math.min(mh - 1, y0 + 1),
      fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(mw - 1, Math.max(0, ((x + 0.5) * mw) / width - 0.5));
      const x0 = Math.floor(sx),
        x1 = Math.min(mw - 1, x0 + 1),
        fx = sx - x0;
      const top = map[y0 * mw + x0]! * (1 - fx) + map[y0 * mw + x1]! * fx;
      const bottom = map[y1 * mw + x0]! * (1 - fx) + map[y1 * mw + x1]! * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** The part of a width x height image the model sees (its center crop under `preprocessing`), in the image's own
 * pixels (unrounded). */
export function mapRegion(
  width: number,
  height: number,
  preprocessing: Preprocessing,
): { left: number; top: number; width: number; height: number } {
  const scale = preprocessing.resizeTo / Math.min(width, height);
  const w = Math.min(width, preprocessing.cropTo / scale);
  const h = Math.min(height, preprocessing.cropTo / scale);
  return { left: (width - w) / 2, top: (height - h) / 2, width: w, height: h };
}

/**
 * Draws `explanation` over `pixels` (width x height of that region, `channels` values a pixel, RGB first)
 * in place: the map upsampled, scaled from its minimum to its maximum, Turbo colors at half opacity.
 */
export function blendMap(
  pixels: Uint8Array | Uint8ClampedArray,
  channels: number,
  width: number,
  height: number,
  explanation: Pick<Explanation, 'map' | 'width' | 'height'>,
): void {
  const map = upsampleMap(explanation, width, height);
  let lo = Infinity,
    hi = -Infinity;
  for (const v of map) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  for (let i = 0; i < map.length; i++) {
    const color = turbo(hi > lo ? (map[i]! - lo) / (hi - lo) : 0.5);
    for (let c = 0; c < 3; c++)
      pixels[channels * i + c] = Math.round(0.5 * pixels[channels * i + c]! + 0.5 * color[c]!);
  }
}
