/**
 * Keras' pre-activation ResNet50V2 through the TF.js layers loader: the network built layer for layer as
 * keras.applications.resnet_v2 builds it (scripts/keras-resnet-v2.ts, with TF.js layers), saved by TF.js as a
 * model.json and its shard, loaded by the engine and run with both kernel families; TF.js's CPU backend running
 * the same model is the reference. 64x64 input, 100 classes (the topology is ResNet50V2's whatever the size).
 */
import { describe, expect, it } from 'vitest';
import { compareLogits, u } from '../scripts/golden-model.js';
import { kerasResNetV2, savedInMemory } from '../scripts/keras-resnet-v2.js';
import { referenceFeatures, referenceLogits } from '../scripts/tfjs-reference.js';
import { optimize } from '../src/graph/passes.js';
import { loadFromMemory } from '../src/loaders/formats.js';
import { loadResNet } from '../src/node.js';

const SIZE = 64;
const CLASSES = 100;

/** Top-5 of each row of logits [batch][classes]. */
const rows = (x: Float32Array): number[][] =>
  Array.from({ length: x.length / CLASSES }, (_, b) => Array.from(x.subarray(b * CLASSES, (b + 1) * CLASSES)));
const top5 = (row: number[]) =>
  row
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5)
    .map(([, i]) => i);

describe("Keras ResNet50V2 (tensorflowjs_converter's format)", () => {
  it("matches TF.js's own run of the model: logits with both kernel families, the pooled features; pre-activations fused", async () => {
    const keras = kerasResNetV2(50, SIZE, CLASSES);
    const input = Float32Array.from({ length: 2 * SIZE * SIZE * 3 }, (_, i) => u('input', i));
    const want = rows(referenceLogits(keras, input, 2));
    const features = referenceFeatures(keras, input, 2);
    const saved = await savedInMemory(keras);
    keras.dispose();

    const { graph, report } = optimize((await loadFromMemory(saved)).graph);
    expect(report.preactivationsFused).toBe(16); // every block's preact_bn + preact_relu
    expect(graph.nodes.filter((n) => n.op === 'batchnorm').map((n) => n.name)).toEqual(['post_bn']);
    for (const convStrategy of ['simd', 'tiled'] as const) {
      const model = await loadResNet({ source: saved, convStrategy });
      try {
        expect(model.info.architecture).toBe('ResNet-50 v2 (pre-activation)');
        const check = compareLogits(await model.infer(input, { batch: 2, output: 'logits' }), { logits: want });
        console.log(`Keras ResNet50V2, ${convStrategy}: max rel. logit error ${check.error.toExponential(2)}`);
        expect(check.error, convStrategy).toBeLessThanOrEqual(1e-4);
        expect(check.top5, convStrategy).toEqual(want.map(top5));
        const embedding = await model.infer(input, { batch: 2, output: 'features' });
        const scale = Math.max(...features.map(Math.abs));
        const error = Math.max(...embedding!.map((v, i) => Math.abs(v - features[i]!))) / scale;
        expect(error, `${convStrategy} features`).toBeLessThanOrEqual(1e-4);
      } finally {
        model.dispose();
      }
    }
  });
});
