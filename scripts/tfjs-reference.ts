/**
 * The independent reference: TF.js (CPU backend, tfjs-layers) running the very same model.json.
 * Used by the tests and by scripts/make-reference.ts; never by the engine.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function loadReferenceModel(modelJsonPath: string): Promise<tfl.LayersModel> {
  await tf.setBackend('cpu');
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8'));
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const parts = await Promise.all(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dirname(modelJsonPath), p))));
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

/** Runs NHWC float input [batch, 224, 224, 3]; returns the model's output (softmax probabilities). */
export function referencePredict(model: tfl.LayersModel, input: Float32Array, batch: number): Float32Array {
  return tf.tidy(() => {
    const shape = model.inputs[0]!.shape.slice(1) as number[];
    const x = tf.tensor(input, [batch, ...shape]);
    return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
}

/** Logits: the input of the final softmax, from a model that stops at the last Dense layer without activation. */
export function referenceLogits(model: tfl.LayersModel, input: Float32Array, batch: number): Float32Array {
  return tf.tidy(() => {
    const shape = model.inputs[0]!.shape.slice(1) as number[];
    const last = model.layers[model.layers.length - 1]!;
    const features = tfl.model({ inputs: model.inputs, outputs: last.input as tfl.SymbolicTensor }).predict(tf.tensor(input, [batch, ...shape])) as tf.Tensor;
    const [kernel, bias] = last.getWeights();
    return tf.add(tf.matMul(features, kernel!), bias!).dataSync() as Float32Array;
  });
}
