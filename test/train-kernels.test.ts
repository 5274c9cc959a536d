/**
 * The head-training kernels (shaders/train_*.wgsl through src/train/gpu-trainer.ts) against a float64
 * reference written plainly here: standardization, class-weighted softmax cross-entropy, minibatch AdamW
 * with decoupled weight decay, on the same minibatch order (src/util/random.ts), on sizes that are
 * multiples of nothing; then the standardization folded into the head.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GpuHeadTrainer, type TrainedHead } from '../src/train/gpu-trainer.js';
import { foldStandardization, splitExamples } from '../src/train/head-math.js';
import { shuffled } from '../src/util/random.js';
import { BUFFER } from '../src/runtime/usage.js';
import { randomArray } from './helpers/reference.js';
import { releaseTestDevice, testDevice } from './helpers/gpu.js';

afterAll(releaseTestDevice);

interface Problem {
  n: number;
  f: number;
  c: number;
  x: Float32Array;
  labels: Uint32Array;
  train: Uint32Array;
  validation: Uint32Array;
  weight: Float32Array;
}

/**
 * n examples of f features in c classes: class centers plus more noise than their spread (the classes
 * overlap, so the loss stays well above 0 and the gradients meaningful; with far fewer examples than
 * features they would not, and Adam's steps along directions of no gradient would amplify rounding),
 * one feature constant.
 */
function problem(n: number, f: number, c: number, seed: number, spread = 3 / Math.sqrt(f)): Problem {
  const centers = randomArray(c * f, seed, spread);
  const noise = randomArray(n * f, seed + 1, 1);
  const labels = Uint32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : (i * 7 + (i % 5)) % c)); // class 0 the largest
  const x = new Float32Array(n * f).map((_, k) => {
    const i = Math.floor(k / f),
      j = k % f;
    return j === 3 ? 5 : centers[labels[i]! * f + j]! + noise[k]!; // feature 3 is constant
  });
  const { train, validation } = splitExamples(
    Uint32Array.from({ length: n }, (_, i) => i),
    labels,
    c,
    0.25,
    11,
  );
  // class weights that do not make every class weigh the same: with balanced weights the bias gradient at
  // the start is exactly 0, and Adam turns its rounding (in either precision) into a full step
  const weight = Float32Array.from({ length: c }, (_, k) => 1 + 0.5 * k);
  return { n, f, c, x, labels, train, validation, weight };
}

/** The same training in float64: what the kernels must compute. */
function reference(
  p: Problem,
  s: { epochs: number; learningRate: number; weightDecay: number; batchSize: number; seed: number },
) {
  const { f, c } = p;
  const mean = new Float64Array(f),
    inv = new Float64Array(f);
  for (let j = 0; j < f; j++) {
    let sum = 0;
    for (const i of p.train) sum += p.x[i * f + j]!;
    mean[j] = sum / p.train.length;
    let spread = 0;
    for (const i of p.train) spread += (p.x[i * f + j]! - mean[j]!) ** 2;
    const deviation = Math.sqrt(spread / p.train.length);
    inv[j] = deviation > 1e-6 ? 1 / (deviation * Math.sqrt(f)) : 0; // variance 1 / f: rows of length about 1
  }
  const x = Float64Array.from(p.x, (v, k) => (v - mean[k % f]!) * inv[k % f]!);
  const theta = new Float64Array(f * c + c),
    m = new Float64Array(f * c + c),
    v = new Float64Array(f * c + c);
  const losses: number[] = [];
  const snapshots: Float64Array[] = []; // the parameters after each epoch (early stopping may keep an earlier one)
  let t = 0;
  for (let epoch = 1; epoch <= s.epochs; epoch++) {
    const order = shuffled(p.train, s.seed, epoch);
    let epochLoss = 0;
    for (let start = 0; start < order.length; start += s.batchSize) {
      const batch = order.subarray(start, start + s.batchSize);
      const weights = batch.reduce((a, i) => a + p.weight[p.labels[i]!]!, 0);
      const grad = new Float64Array(f * c + c);
      for (const i of batch) {
        const z = Array.from({ length: c }, (_, k) => {
          let s0 = theta[f * c + k]!;
          for (let j = 0; j < f; j++) s0 += x[i * f + j]! * theta[j * c + k]!;
          return s0;
        });
        const top = Math.max(...z);
        const lse = top + Math.log(z.reduce((a, zi) => a + Math.exp(zi - top), 0));
        epochLoss += lse - z[p.labels[i]!]!;
        for (let k = 0; k < c; k++) {
          const dz = ((Math.exp(z[k]! - lse) - (k === p.labels[i] ? 1 : 0)) * p.weight[p.labels[i]!]!) / weights;
          grad[f * c + k] = grad[f * c + k]! + dz;
          for (let j = 0; j < f; j++) grad[j * c + k] = grad[j * c + k]! + x[i * f + j]! * dz;
        }
      }
      t++;
      for (let q = 0; q < theta.length; q++) {
        m[q] = 0.9 * m[q]! + 0.1 * grad[q]!;
        v[q] = 0.999 * v[q]! + 0.001 * grad[q]! ** 2;
        if (q < f * c) theta[q] = theta[q]! - s.learningRate * s.weightDecay * theta[q]!;
        theta[q] =
          theta[q]! - (s.learningRate * (m[q]! / (1 - 0.9 ** t))) / (Math.sqrt(v[q]! / (1 - 0.999 ** t)) + 1e-8);
      }
    }
    losses.push(epochLoss / order.length);
    snapshots.push(theta.slice());
  }
  const at = (epoch: number) => ({
    weights: snapshots[epoch - 1]!.subarray(0, f * c),
    bias: snapshots[epoch - 1]!.subarray(f * c),
  });
  return { mean, inv, losses, at };
}

async function trainOnGpu(
  p: Problem,
  s: { epochs: number; learningRate: number; weightDecay: number; batchSize: number; seed: number; patience: number },
): Promise<TrainedHead> {
  const device = await testDevice();
  const features = device.createBuffer({
    size: p.x.byteLength,
    usage: BUFFER.STORAGE | BUFFER.COPY_DST | BUFFER.COPY_SRC,
  });
  device.queue.writeBuffer(features, 0, p.x);
  const gpu = new GpuHeadTrainer(device);
  try {
    return await gpu.fit(
      {
        features,
        n: p.n,
        f: p.f,
        classes: p.c,
        labels: p.labels,
        train: p.train,
        validation: p.validation,
        classWeight: p.weight,
      },
      s,
    );
  } finally {
    gpu.destroy();
    features.destroy();
  }
}

const maxRelative = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
};

describe('training a head on the GPU', () => {
  it.each([
    { n: 241, f: 37, c: 5, batchSize: 16 },
    { n: 90, f: 130, c: 3, batchSize: 7 },
    { n: 40, f: 9, c: 11, batchSize: 40 },
  ])(
    "$n examples of $f features in $c classes, minibatches of $batchSize: the float64 reference's statistics, losses and parameters",
    async ({ n, f, c, batchSize }) => {
      const p = problem(n, f, c, n + f);
      const settings = { epochs: 6, learningRate: 0.05, weightDecay: 0.01, batchSize, seed: 3, patience: 100 };
      const got = await trainOnGpu(p, settings);
      const want = reference(p, settings);
      expect(got.history).toHaveLength(6);
      expect(maxRelative(got.mean, want.mean)).toBeLessThan(1e-5);
      expect(maxRelative(got.scale, want.inv)).toBeLessThan(1e-4);
      expect(got.scale[3]).toBe(0); // the constant feature
      expect(
        maxRelative(
          got.history.map((h) => h.loss),
          want.losses,
        ),
      ).toBeLessThan(1e-4);
      const kept = want.at(got.epoch); // the epoch with the lowest validation loss
      const errors = { weights: maxRelative(got.weights, kept.weights), bias: maxRelative(got.bias, kept.bias) };
      console.log(
        `n ${n}, f ${f}, c ${c}, batch ${batchSize}: parameters of epoch ${got.epoch}, max relative difference from float64: weights ${errors.weights.toExponential(2)}, bias ${errors.bias.toExponential(2)}; loss ${want.losses[0]!.toFixed(4)} -> ${want.losses.at(-1)!.toFixed(4)}`,
      );
      expect(errors.weights).toBeLessThan(1e-3);
      expect(errors.bias).toBeLessThan(1e-3);
      expect(got.history.at(-1)!.loss).toBeLessThan(got.history[0]!.loss);
    },
  );

  it('folding the standardization into the head gives the same logits on raw features', async () => {
    const p = problem(50, 21, 4, 5);
    const trained = await trainOnGpu(p, {
      epochs: 3,
      learningRate: 0.05,
      weightDecay: 0,
      batchSize: 8,
      seed: 1,
      patience: 100,
    });
    const head = foldStandardization(trained, ['a', 'b', 'c', 'd']);
    for (const i of [0, 17, 49]) {
      for (let k = 0; k < 4; k++) {
        let standardized = trained.bias[k]!,
          raw = head.bias[k]!;
        for (let j = 0; j < 21; j++) {
          standardized += (p.x[i * 21 + j]! - trained.mean[j]!) * trained.scale[j]! * trained.weights[j * 4 + k]!;
          raw += p.x[i * 21 + j]! * head.weights[j * 4 + k]!;
        }
        expect(raw).toBeCloseTo(standardized, 3);
      }
    }
  });

  it('early stopping keeps the parameters of the epoch with the lowest validation loss', async () => {
    const p = problem(60, 12, 3, 9, 1);
    const got = await trainOnGpu(p, {
      epochs: 40,
      learningRate: 0.3,
      weightDecay: 0,
      batchSize: 4,
      seed: 2,
      patience: 3,
    });
    const losses = got.history.map((h) => h.validationLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(got.epoch).toBe(best);
    expect(got.history.length).toBeLessThanOrEqual(best + 3);
  });

  it('a learning rate that diverges is a TrainingError, not a head of NaNs', async () => {
    const p = problem(30, 8, 2, 4);
    p.x.fill(1e20, 0, 8); // one example far out: the logits overflow
    await expect(
      trainOnGpu(p, { epochs: 5, learningRate: 1e38, weightDecay: 0, batchSize: 8, seed: 1, patience: 100 }),
    ).rejects.toThrow(/training diverged at epoch \d+ \(the loss is not finite\): use a lower learningRate/);
  });
});
