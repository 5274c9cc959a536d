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
  const parts = await Promise.all(
    json.weightsManifest
      .flatMap((g: { paths: string[] }) => g.paths)
      .map((p: string) => readFile(join(dirname(modelJsonPath), p))),
  );
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

/** The input of the model's last layer, predicted (call inside tf.tidy): the global average pool's output. */
function featuresOf(model: tfl.LayersModel, input: Float32Array, batch: number): tf.Tensor {
  // the last layer's input in this model (a layer reused by a rewired model has several)
  const out = model.outputs[0]!;
  const features = out.sourceLayer.getInputAt(out.nodeIndex) as tfl.SymbolicTensor;
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  return tfl
    .model({ inputs: model.inputs, outputs: features })
    .predict(tf.tensor(input, [batch, ...shape])) as tf.Tensor;
}

/** Logits: the input of the final softmax, from a model that stops at the last Dense layer without activation. */
export function referenceLogits(model: tfl.LayersModel, input: Float32Array, batch: number): Float32Array {
  return tf.tidy(() => {
    const [kernel, bias] = model.layers[model.layers.length - 1]!.getWeights();
    return tf.add(tf.matMul(featuresOf(model, input, batch), kernel!), bias!).dataSync() as Float32Array;
  });
}

/** The global average pool's output (the input of the final Dense layer). */
export function referenceFeatures(model: tfl.LayersModel, input: Float32Array, batch: number): Float32Array {
  return tf.tidy(() => featuresOf(model, input, batch).dataSync() as Float32Array);
}

/**
 * The Keras ResNet-50 with residual blocks deleted, by their Keras names ('2b' = res2b_*, '4a' = res4a_*):
 * the model is wired again from model.json's topology, the same layers (and weights) applied in order,
 * except that the Activation after a deleted block's Add reads the Add's other input, the shortcut
 * (the identity, or bn4a_branch1 where there is a projection): y = relu(shortcut).
 */
export async function lesionedReferenceModel(
  model: tfl.LayersModel,
  modelJsonPath: string,
  blocks: string[],
): Promise<tfl.LayersModel> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8'));
  const config = json.modelTopology.model_config ?? json.modelTopology;
  const layers: Array<{ class_name: string; name: string; inbound_nodes: Array<Array<[string, number, number]>> }> =
    config.config.layers;
  const inputsOf = (l: (typeof layers)[number]) => (l.inbound_nodes[0] ?? []).map(([name]) => name);
  // Each deleted block's Add -> its shortcut input (the one that is not bn<block>_branch2c).
  const shortcut = new Map<string, string>();
  for (const b of blocks) {
    const add = layers.find((l) => l.class_name === 'Add' && inputsOf(l).includes(`bn${b}_branch2c`));
    if (!add) throw new Error(`no Add after bn${b}_branch2c`);
    shortcut.set(add.name, inputsOf(add).find((n) => n !== `bn${b}_branch2c`)!);
  }
  const tensors = new Map<string, tfl.SymbolicTensor>([[layers[0]!.name, model.inputs[0]!]]);
  for (const l of layers.slice(1)) {
    const names = inputsOf(l).map((n) => (l.class_name === 'Activation' && shortcut.has(n) ? shortcut.get(n)! : n));
    const ins = names.map((n) => tensors.get(n)!);
    tensors.set(l.name, model.getLayer(l.name).apply(ins.length === 1 ? ins[0]! : ins) as tfl.SymbolicTensor);
  }
  return tfl.model({ inputs: model.inputs, outputs: tensors.get(layers.at(-1)!.name)! });
}
