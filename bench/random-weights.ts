/**
 * Synthetic weights for a TF.js layers topology: same layers and shapes as the real model, deterministic
 * pseudo-random values in ranges that keep activations and logits at a sane scale (He-uniform convs,
 * BatchNorm near identity but 1/8 on each residual branch's last BN, the stem scaled for caffe-range
 * input), so outputs of two runtimes can be compared. For timing on machines the ~100 MB of pretrained
 * weights cannot reach; never for accuracy.
 */
import type { InMemoryModel } from '../src/loaders/formats.js';
import { random } from '../src/util/random.js';

interface Spec {
  name: string;
  shape: number[];
  dtype: string;
}

export function randomWeights(
  modelJson: { weightsManifest: Array<{ paths: string[]; weights: Spec[] }> } & Record<string, unknown>,
  seed = 1,
): InMemoryModel {
  const draw = random(seed);
  const next = () => draw() * 2 - 1;
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const total = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const s of specs) {
    const n = s.shape.reduce((x, y) => x * y, 1);
    const fanIn = s.shape.length > 1 ? s.shape.slice(0, -1).reduce((x, y) => x * y, 1) : 1;
    const [layer, kind] = [s.name.split('/').slice(0, -1).join('/'), s.name.split('/').pop()];
    const isDense = kind === 'kernel' && s.shape.length === 2;
    const kernelScale = isDense ? Math.sqrt(3 / fanIn) : Math.sqrt(6 / fanIn) * (layer === 'conv1' ? 1 / 128 : 1);
    const gammaScale = /branch2c$/.test(layer) ? 1 / 8 : 1;
    for (let i = 0; i < n; i++) {
      const u = next();
      data[at + i] =
        kind === 'kernel'
          ? u * kernelScale
          : kind === 'gamma'
            ? (1 + u / 4) * gammaScale
            : kind === 'moving_variance'
              ? 1 + (u + 1) / 2
              : u / 8; // bias, beta, moving_mean
    }
    at += n;
  }
  const bytes = new Uint8Array(data.buffer);
  const file = 'random-weights.bin';
  return {
    modelJson: { ...modelJson, weightsManifest: [{ paths: [file], weights: specs }] },
    weights: { [file]: bytes },
  };
}
