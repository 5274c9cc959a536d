/**
 * Class activation maps as the caller gets them (ResNetModel.explain): the `cam` output of a run (every
 * class's map, then the logits; src/ops/class-activation-maps.ts) -> one Explanation per class asked for,
 * and a bilinear upsampling of a map to an image's size for display.
 */
import { InputError } from '../errors.js';
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
  /** The class activation map, row-major: sum over channels of the class's dense weight times the last stage's output. */
  map: Float32Array;
}

/** What a model knows about its classifier: the map size and the dense layer's bias. */
export interface Classifier {
  height: number;
  width: number;
  bias: Float32Array;
}

/** One image's explanations from its block of the `cam` output ([HW + 1][padded classes]). */
export function readExplanations(raw: Float32Array, classifier: Classifier, labels: readonly string[], options: ExplainOptions = {}): Explanation[] {
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
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new InputError(`classIndex must be an integer from 0 to ${classes - 1}, got ${c}`);
    chosen = [c];
  } else {
    const k = checkTopK(options.topK ?? 1);
    chosen = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, k);
  }
  return chosen.map((c) => {
    const map = new Float32Array(hw);
    for (let p = 0; p < hw; p++) map[p] = raw[p * row + c]!;
    return { classIndex: c, label: labels[c]!, probability: Math.exp(logits[c]! - max) / sum, logit: logits[c]!, bias: bias[c]!, height, width, map };
  });
}

/**
 * A map resized to `width` x `height` (bilinear, pixel centers aligned as in image resizing), for an
 * overlay on the image the map explains (the model's center crop of it).
 */
export function upsampleMap({ map, width: mw, height: mh }: Pick<Explanation, 'map' | 'width' | 'height'>, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(mh - 1, Math.max(0, ((y + 0.5) * mh) / height - 0.5));
    const y0 = Math.floor(sy), y1 = Math.min(mh - 1, y0 + 1), fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(mw - 1, Math.max(0, ((x + 0.5) * mw) / width - 0.5));
      const x0 = Math.floor(sx), x1 = Math.min(mw - 1, x0 + 1), fx = sx - x0;
      const top = map[y0 * mw + x0]! * (1 - fx) + map[y0 * mw + x1]! * fx;
      const bottom = map[y1 * mw + x0]! * (1 - fx) + map[y1 * mw + x1]! * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}
