/**
 * Keras' ResNet50V2 / ResNet101V2 / ResNet152V2 built with TF.js layers, layer for layer and name for name as
 * keras.applications.resnet_v2 builds them (ResNet(stack_fn, preact=True, use_bias=True) with stack2 / block2):
 * conv1_pad, conv1_conv (7x7/2, bias), pool1_pad, pool1_pool; blocks convS_blockB whose preact_bn + preact_relu
 * feed _1_conv and, in a stack's first block, the projection _0_conv; other shortcuts the block's input itself
 * or, where a stack's last block strides, a 1x1 max pool of it (unnamed in Keras); _1_conv / _2_conv without
 * bias, each followed by BatchNormalization + ReLU, _2_pad before the 3x3; _3_conv with bias; _out the Add of
 * shortcut and branch (no ReLU after it); post_bn, post_relu, avg_pool and predictions (softmax). BatchNorm
 * epsilon 1.001e-5. Parameters from the golden generator (u, ../shared/golden/README.md), so tests rebuild them:
 * what a Keras user's `tensorflowjs_converter` would hand the engine, and TF.js's own CPU run of it the reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { u } from './golden-model.js';

/** Blocks per stack of each Keras V2 network. */
export const KERAS_V2_STACKS: Record<number, number[]> = { 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3] };

const EPSILON = 1.001e-5;
const bn = (name: string) => tfl.layers.batchNormalization({ axis: 3, epsilon: EPSILON, name });
const relu = (name: string) => tfl.layers.activation({ activation: 'relu', name });
type T = tfl.SymbolicTensor;

/** keras.applications.resnet_v2's block2. */
function block2(x: T, filters: number, stride: number, convShortcut: boolean, name: string): T {
  const preact = relu(`${name}_preact_relu`).apply(bn(`${name}_preact_bn`).apply(x)) as T;
  const shortcut = convShortcut
    ? (tfl.layers
        .conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` })
        .apply(preact) as T)
    : stride > 1
      ? (tfl.layers.maxPooling2d({ poolSize: 1, strides: stride }).apply(x) as T)
      : x;
  let y = tfl.layers.conv2d({ filters, kernelSize: 1, useBias: false, name: `${name}_1_conv` }).apply(preact) as T;
  y = relu(`${name}_1_relu`).apply(bn(`${name}_1_bn`).apply(y)) as T;
  y = tfl.layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: `${name}_2_pad`,
    })
    .apply(y) as T;
  y = tfl.layers
    .conv2d({ filters, kernelSize: 3, strides: stride, useBias: false, name: `${name}_2_conv` })
    .apply(y) as T;
  y = relu(`${name}_2_relu`).apply(bn(`${name}_2_bn`).apply(y)) as T;
  y = tfl.layers.conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }).apply(y) as T;
  return tfl.layers.add({ name: `${name}_out` }).apply([shortcut, y]) as T;
}

/** keras.applications.resnet_v2's stack2: the stride on the last block. */
function stack2(x: T, filters: number, blocks: number, stride1: number, name: string): T {
  let y = block2(x, filters, 1, true, `${name}_block1`);
  for (let i = 2; i < blocks; i++) y = block2(y, filters, 1, false, `${name}_block${i}`);
  return block2(y, filters, stride1, false, `${name}_block${blocks}`);
}

/** The network, its parameters generated (conv kernels by fan-in, BatchNorms near identity, each block's last conv
 * scaled down as the golden generator's last BN is, so the un-normalized residual stream stays in range). */
export function kerasResNetV2(depth: number, size: number, classes: number): tfl.LayersModel {
  const stacks = KERAS_V2_STACKS[depth];
  if (!stacks) throw new Error(`Keras has ResNet50V2, 101V2 and 152V2, not ${depth}`);
  const input = tfl.input({ shape: [size, size, 3], name: 'input_1' });
  let x = tfl.layers
    .zeroPadding2d({
      padding: [
        [3, 3],
        [3, 3],
      ],
      name: 'conv1_pad',
    })
    .apply(input) as T;
  x = tfl.layers.conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv' }).apply(x) as T;
  x = tfl.layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'pool1_pad',
    })
    .apply(x) as T;
  x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x) as T;
  stacks.forEach((blocks, s) => {
    x = stack2(x, 64 << s, blocks, s === 3 ? 1 : 2, `conv${s + 2}`);
  });
  x = relu('post_relu').apply(bn('post_bn').apply(x)) as T;
  x = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as T;
  const out = tfl.layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x) as T;
  const model = tfl.model({ inputs: input, outputs: out, name: `resnet${depth}v2` });
  model.setWeights(
    model.weights.map((w) => tf.tensor(generated(w.originalName, w.shape as number[]), w.shape as number[])),
  );
  return model;
}

function generated(name: string, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const [layer, param] = name.split('/') as [string, string];
  const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const scale: Record<string, number> = {
    kernel: Math.sqrt((layer.endsWith('_3_conv') ? 0.5 : 6) / fanIn),
    bias: 1 / 8,
    gamma: 1 / 4,
    beta: 1 / 8,
    moving_mean: 1 / 8,
  };
  return Float32Array.from({ length: n }, (_, i) => {
    const v = u(name, i);
    if (param === 'gamma') return 1 + v / 4;
    if (param === 'moving_variance') return 1 + (v + 1) / 2;
    return v * scale[param]!;
  });
}

/** The model as TF.js saves it: model.json (topology + weights manifest) and its one shard. */
export async function savedInMemory(
  model: tfl.LayersModel,
): Promise<{ modelJson: object; weights: Record<string, Uint8Array> }> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const data = saved!.weightData as ArrayBuffer;
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    modelTopology: saved!.modelTopology,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: saved!.weightSpecs }],
  };
  return { modelJson, weights: { 'group1-shard1of1.bin': new Uint8Array(data) } };
}
