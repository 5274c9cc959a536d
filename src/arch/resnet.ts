/**
 * ResNet architectures from a small spec (He et al. 2015): depth -> block kind and stage sizes, in two
 * definitions:
 *  - 'torchvision' (v1.5, also timm): in a bottleneck the stride sits on the 3x3 conv; BatchNorm eps 1e-5;
 *    max pool pads with -inf; state_dict names conv1, bn1, layerS.B.{conv,bn}N, layerS.B.downsample.{0,1}, fc.
 *  - 'keras-v1' (the original): the stride sits on the first 1x1 conv; eps 1e-3; same names otherwise.
 * The builder reads each parameter through `get(name, shape)` in PyTorch layout (conv OIHW, fc [out, in])
 * and emits the raw graph IR (conv, batchnorm, relu, add, ...); the load-time passes then fold and fuse it.
 * A `folded` state_dict (src/export/compact.ts) has BatchNorm already in each conv's weight and bias, and
 * may carry int8 weights (`quantized`), kept on the nodes as they are.
 */
import { type Graph, GraphBuilder } from '../graph/graph.js';
import type { QuantizedWeights } from '../ir/tensor.js';
import * as op from '../operators/index.js';
import { OIHW_TO_HWIO, permute, TRANSPOSE } from '../util/layout.js';

export type ResNetDefinition = 'torchvision' | 'keras-v1';
export type BlockKind = 'basic' | 'bottleneck';

export const RESNET_SPECS: Record<number, { block: BlockKind; stages: [number, number, number, number] }> = {
  18: { block: 'basic', stages: [2, 2, 2, 2] },
  34: { block: 'basic', stages: [3, 4, 6, 3] },
  50: { block: 'bottleneck', stages: [3, 4, 6, 3] },
  101: { block: 'bottleneck', stages: [3, 4, 23, 3] },
  152: { block: 'bottleneck', stages: [3, 8, 36, 3] },
};

/** The depth whose spec has this block kind and these stage sizes, if any. */
export function depthOf(block: BlockKind, stages: number[]): number | undefined {
  for (const [depth, spec] of Object.entries(RESNET_SPECS)) {
    if (spec.block === block && spec.stages.join() === stages.join()) return Number(depth);
  }
  return undefined;
}

/** Reads one parameter in PyTorch layout; must throw (naming the tensor) when it is missing or misshapen. */
export type ParamReader = (name: string, shape: number[]) => Float32Array;

export interface ResNetBuildOptions {
  depth: number;
  definition: ResNetDefinition;
  classes?: number;
  inputSize?: number;
  /** BatchNorm epsilon (default: 1e-5 torchvision, 1e-3 keras-v1). */
  epsilon?: number;
  /** BatchNorm folded into the convs: `<conv>.bias` is read and there are no bn parameters. */
  folded?: boolean;
  /** int8 values of a weight (PyTorch layout) and its per-output-channel scales, where the file has them. */
  quantized?: (name: string) => QuantizedWeights | undefined;
}

export function buildResNet(get: ParamReader, options: ResNetBuildOptions): Graph {
  const spec = RESNET_SPECS[options.depth];
  if (!spec)
    throw new Error(`ResNet-${options.depth} is not defined (depths: ${Object.keys(RESNET_SPECS).join(', ')})`);
  const classes = options.classes ?? 1000;
  const size = options.inputSize ?? 224;
  const epsilon = options.epsilon ?? (options.definition === 'torchvision' ? 1e-5 : 1e-3);
  const b = new GraphBuilder(`resnet${options.depth}`, 'input', [size, size, 3]);

  const conv = (name: string, x: string, cout: number, k: number, stride: number): string => {
    const cin = b.shape(x)[2];
    const dims = [cout, cin, k, k];
    const w = permute(get(`${name}.weight`, dims), dims, OIHW_TO_HWIO);
    const pad = (k - 1) >> 1;
    const q = options.quantized?.(`${name}.weight`);
    const quantized = q && { values: permute(q.values, dims, OIHW_TO_HWIO), scales: q.scales };
    const bias = options.folded ? get(`${name}.bias`, [cout]) : undefined;
    return b.add(
      op.conv2d(name, x, {
        weights: w,
        bias,
        quantized,
        kernel: [k, k],
        filters: cout,
        strides: [stride, stride],
        pads: [pad, pad, pad, pad],
      }),
    );
  };
  const bn = (name: string, x: string): string => {
    if (options.folded) return x;
    const c = b.shape(x)[2];
    return b.add(
      op.batchNorm(name, x, {
        gamma: get(`${name}.weight`, [c]),
        beta: get(`${name}.bias`, [c]),
        mean: get(`${name}.running_mean`, [c]),
        variance: get(`${name}.running_var`, [c]),
        epsilon,
      }),
    );
  };

  let x = b.add(op.relu('relu', bn('bn1', conv('conv1', 'input', 64, 7, 2))));
  x = b.add(op.maxPool('maxpool', x, { size: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], padValue: 'ignore' }));
  const planes = [64, 128, 256, 512];
  const expansion = spec.block === 'bottleneck' ? 4 : 1;
  spec.stages.forEach((blocks, s) => {
    for (let i = 0; i < blocks; i++) {
      const p = `layer${s + 1}.${i}`;
      const stride = i === 0 && s > 0 ? 2 : 1;
      const inC = b.shape(x)[2];
      const outC = planes[s]! * expansion;
      let y: string;
      if (spec.block === 'basic') {
        y = b.add(op.relu(`${p}.relu1`, bn(`${p}.bn1`, conv(`${p}.conv1`, x, planes[s]!, 3, stride))));
        y = bn(`${p}.bn2`, conv(`${p}.conv2`, y, planes[s]!, 3, 1));
      } else {
        const [s1, s3] = options.definition === 'torchvision' ? [1, stride] : [stride, 1];
        y = b.add(op.relu(`${p}.relu1`, bn(`${p}.bn1`, conv(`${p}.conv1`, x, planes[s]!, 1, s1))));
        y = b.add(op.relu(`${p}.relu2`, bn(`${p}.bn2`, conv(`${p}.conv2`, y, planes[s]!, 3, s3))));
        y = bn(`${p}.bn3`, conv(`${p}.conv3`, y, outC, 1, 1));
      }
      const shortcut =
        stride !== 1 || inC !== outC ? bn(`${p}.downsample.1`, conv(`${p}.downsample.0`, x, outC, 1, stride)) : x;
      x = b.add(op.relu(`${p}.relu`, b.add(op.add(`${p}.add`, y, shortcut))));
    }
  });
  x = b.add(op.globalAvgPool('avgpool', x));
  const inF = b.shape(x)[2];
  const fcq = options.quantized?.('fc.weight');
  const logits = b.add(
    op.dense('fc', x, {
      weights: permute(get('fc.weight', [classes, inF]), [classes, inF], TRANSPOSE),
      quantized: fcq && { values: permute(fcq.values, [classes, inF], TRANSPOSE), scales: fcq.scales },
      bias: get('fc.bias', [classes]),
      units: classes,
    }),
  );
  return b.finish(b.add(op.softmax('softmax', logits)));
}
