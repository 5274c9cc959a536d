/**
 * The arithmetic around a trained head, on the CPU in float64: the stratified split, the standardization
 * folded into the weights, the nearest-class-mean head, and a head's predictions.
 */
import type { TrainedHead } from './gpu-trainer.js';
import type { Head } from '../graph/head.js';
import { shuffled } from '../util/random.js';

/** Each class's examples shuffled (by `seed`), `share` of them (at least one, where a class has two) held out to
 * validate. */
export function splitExamples(
  examples: Uint32Array,
  classOf: Uint32Array,
  classes: number,
  share: number,
  seed: number,
): { train: Uint32Array; validation: Uint32Array } {
  const train: number[] = [],
    validation: number[] = [];
  for (let c = 0; c < classes; c++) {
    const mine = shuffled(
      examples.filter((i) => classOf[i] === c),
      seed,
      -1 - c,
    );
    const held =
      share > 0 && mine.length >= 2 ? Math.min(mine.length - 1, Math.max(1, Math.round(mine.length * share))) : 0;
    validation.push(...mine.subarray(0, held));
    train.push(...mine.subarray(held));
  }
  return { train: Uint32Array.from(train).sort(), validation: Uint32Array.from(validation).sort() };
}

/**
 * The head on raw features equal to `trained` on standardized ones: z = ((x - mean) * inv) W + b
 * = x (inv W) + (b - sum_f mean_f inv_f W_f), so the new model needs no standardization step.
 */
export function foldStandardization(trained: TrainedHead, labels: readonly string[]): Head {
  const c = labels.length;
  const f = trained.mean.length;
  const weights = new Float32Array(f * c);
  const bias = Float64Array.from(trained.bias);
  for (let i = 0; i < f; i++) {
    const inv = trained.scale[i]!;
    for (let k = 0; k < c; k++) {
      const w = inv * trained.weights[i * c + k]!;
      weights[i * c + k] = w;
      bias[k] = bias[k]! - trained.mean[i]! * w;
    }
  }
  return { labels: [...labels], weights, bias: Float32Array.from(bias) };
}

/**
 * The nearest class mean as a linear head: |x - m_c|^2 = |x|^2 - 2 x.m_c + |m_c|^2, and |x|^2 is the same
 * for every class, so logits (x.m_c - |m_c|^2 / 2) / t rank the classes by distance. t, the mean squared
 * distance of the training examples to their class's mean, keeps the probabilities readable.
 */
export function nearestMeanHead(
  features: Float32Array,
  f: number,
  classOf: Uint32Array,
  train: Uint32Array,
  labels: readonly string[],
): Head {
  const c = labels.length;
  const means = new Float64Array(c * f);
  const counts = new Float64Array(c);
  for (const i of train) {
    counts[classOf[i]!]!++;
    for (let k = 0; k < f; k++) means[classOf[i]! * f + k] = means[classOf[i]! * f + k]! + features[i * f + k]!;
  }
  for (let k = 0; k < c * f; k++) means[k] = means[k]! / counts[Math.floor(k / f)]!;
  let spread = 0;
  for (const i of train)
    for (let k = 0; k < f; k++) spread += (features[i * f + k]! - means[classOf[i]! * f + k]!) ** 2;
  const t = Math.max(spread / train.length, 1e-6);
  const weights = new Float32Array(f * c);
  const bias = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    let norm = 0;
    for (let k = 0; k < f; k++) {
      weights[k * c + j] = means[j * f + k]! / t;
      norm += means[j * f + k]! ** 2;
    }
    bias[j] = -norm / (2 * t);
  }
  return { labels: [...labels], weights, bias };
}

/** The class `head` predicts (argmax of the logits, in float64) for each of `examples` of raw features [n][f]. */
export function predictions(head: Head, features: Float32Array, f: number, examples: Uint32Array): Uint32Array {
  const c = head.labels.length;
  return examples.map((i) => {
    let best = 0,
      bestLogit = -Infinity;
    for (let j = 0; j < c; j++) {
      let z = head.bias[j]!;
      for (let k = 0; k < f; k++) z += features[i * f + k]! * head.weights[k * c + j]!;
      if (z > bestLogit) [best, bestLogit] = [j, z];
    }
    return best;
  });
}
