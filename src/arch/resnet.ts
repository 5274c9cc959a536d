/**
 * ResNet-family architectures (He et al. 2015 and the variants timm and torchvision build) from a small
 * description, in PyTorch's state_dict names:
 *  - block kind and blocks per stage (any number: ResNet-10/14/26 as well as 18..152);
 *  - definition: 'torchvision' (v1.5, also timm: in a bottleneck the stride sits on the 3x3 conv, BatchNorm
 *    eps 1e-5) or 'keras-v1' (the stride on the first 1x1 conv, eps 1e-3);
 *  - stem: 'plain' (conv1 7x7/2) or 'deep' (timm's three 3x3 convs conv1.0 /2, conv1.3, conv1.6 with
 *    BatchNorm + ReLU conv1.1, conv1.4 between; the tiered stem is the same with other widths);
 *  - shortcut: 'conv' (downsample.0 1x1 conv stride s + downsample.1 BatchNorm) or 'avgpool' (ResNet-D:
 *    a 2x2/s average pool, ceil mode, padding not counted, where s > 1, then downsample.1 1x1 conv +
 *    downsample.2 BatchNorm);
 *  - se: a squeeze-and-excitation gate (se.fc1, se.fc2) scaling each block's branch before the residual sum.
 * Every width is read from the tensors when `shapeOf` is given (Wide ResNet, tiered stems, any width per
 * stage) and so are the groups of a grouped conv (ResNeXt), else the standard ones. The builder reads each
 * parameter through `get(name, shape)` in PyTorch layout (conv OIHW, fc [out, in]) and emits the raw graph
 * IR; the load-time passes fold and fuse it. A `folded` state_dict (src/export/compact.ts) has BatchNorm
 * already in each conv's weight and bias, and may carry int8 weights (`quantized`), kept on the nodes as they are.
 */
import { ModelFormatError } from '../errors.js';
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

export interface ResNetArchitecture {
  block: BlockKind;
  /** Blocks per stage, four stages. */
  stages: number[];
  definition: ResNetDefinition;
  stem: 'plain' | 'deep';
  shortcut: 'conv' | 'avgpool';
  /** A squeeze-and-excitation gate on each block's branch (timm's `layerS.B.se.fc1/fc2`). */
  se?: boolean;
}

/** The depth in the ResNet sense: the stem conv, the convs of the residual branches and the classifier. */
export const depthOf = (arch: Pick<ResNetArchitecture, 'block' | 'stages'>): number =>
  2 + (arch.block === 'bottleneck' ? 3 : 2) * arch.stages.reduce((a, b) => a + b, 0);

/** The standard architecture of a depth of the 2015 definition. */
export function standardArchitecture(depth: number, definition: ResNetDefinition = 'torchvision'): ResNetArchitecture {
  const spec = RESNET_SPECS[depth];
  if (!spec)
    throw new ModelFormatError(`ResNet-${depth} is not defined (depths: ${Object.keys(RESNET_SPECS).join(', ')})`);
  return { block: spec.block, stages: spec.stages, definition, stem: 'plain', shortcut: 'conv' };
}

/** A short name in timm's style: resnet50, resnet26d (deep stem + avg-pool shortcut), resnet50c (deep stem). */
export function architectureId(arch: ResNetArchitecture): string {
  const suffix =
    arch.stem === 'deep' ? (arch.shortcut === 'avgpool' ? 'd' : 'c') : arch.shortcut === 'avgpool' ? 'a' : '';
  return `${arch.se ? 'se' : ''}resnet${depthOf(arch)}${suffix}`;
}

/** Reads one parameter in PyTorch layout; must throw (naming the tensor) when it is missing or misshapen. */
export type ParamReader = (name: string, shape: number[]) => Float32Array;

export interface ResNetBuildOptions {
  architecture: ResNetArchitecture;
  classes?: number;
  inputSize?: number;
  /** BatchNorm epsilon (default: 1e-5 torchvision, 1e-3 keras-v1). */
  epsilon?: number;
  /** BatchNorm folded into the convs: `<conv>.bias` is read and there are no bn parameters. */
  folded?: boolean;
  /** int8 values of a weight (PyTorch layout) and its per-output-channel scales, where the file has them. */
  quantized?: (name: string) => QuantizedWeights | undefined;
  /** The shape of a tensor in the file, where there is one: widths come from it. */
  shapeOf?: (name: string) => readonly number[] | undefined;
  /** The file, for messages. */
  where?: string;
}

const PLANES = [64, 128, 256, 512];

export function buildResNet(get: ParamReader, options: ResNetBuildOptions): Graph {
  const arch = options.architecture;
  const size = options.inputSize ?? 224;
  const b = new GraphBuilder(architectureId(arch), 'input', [size, size, 3]);
  const layers = new LayerReader(b, get, options);
  let x = stem(layers, arch);
  arch.stages.forEach((blocks, s) => {
    for (let i = 0; i < blocks; i++) x = residualBlock(layers, arch, `layer${s + 1}.${i}`, x, s, i);
  });
  x = b.add(op.globalAvgPool('avgpool', x));
  return b.finish(b.add(op.softmax('softmax', layers.fc('fc', x, options.classes ?? 1000))));
}

/** Conv, BatchNorm and dense layers read from the parameters, widths from the file where it has them. */
class LayerReader {
  readonly epsilon: number;

  constructor(
    readonly b: GraphBuilder,
    private readonly get: ParamReader,
    private readonly options: ResNetBuildOptions,
  ) {
    this.epsilon = options.epsilon ?? (options.architecture.definition === 'torchvision' ? 1e-5 : 1e-3);
  }

  /** Output channels of conv `name`: its weight's first dimension in the file, else `standard`. */
  width(name: string, standard: number): number {
    return this.options.shapeOf?.(`${name}.weight`)?.[0] ?? standard;
  }

  conv(name: string, x: string, cout: number, k: number, stride: number): string {
    const cin = this.b.shape(x)[2];
    // a grouped conv's weight has CIN / groups input channels (ResNeXt's 3x3)
    const perGroup = this.options.shapeOf?.(`${name}.weight`)?.[1];
    const groups = perGroup && perGroup < cin && cin % perGroup === 0 ? cin / perGroup : 1;
    const dims = [cout, cin / groups, k, k];
    const w = permute(this.get(`${name}.weight`, dims), dims, OIHW_TO_HWIO);
    const pad = (k - 1) >> 1;
    const q = this.options.quantized?.(`${name}.weight`);
    const quantized = q && { values: permute(q.values, dims, OIHW_TO_HWIO), scales: q.scales };
    const bias = this.options.folded ? this.get(`${name}.bias`, [cout]) : undefined;
    const params = { weights: w, bias, quantized, kernel: [k, k] as [number, number], filters: cout, groups };
    return this.b.add(op.conv2d(name, x, { ...params, strides: [stride, stride], pads: [pad, pad, pad, pad] }));
  }

  bn(name: string, x: string): string {
    if (this.options.folded) return x;
    const c = this.b.shape(x)[2];
    const gamma = this.get(`${name}.weight`, [c]);
    const beta = this.get(`${name}.bias`, [c]);
    const mean = this.get(`${name}.running_mean`, [c]);
    const variance = this.get(`${name}.running_var`, [c]);
    return this.b.add(op.batchNorm(name, x, { gamma, beta, mean, variance, epsilon: this.epsilon }));
  }

  convBn(conv: string, bn: string, x: string, cout: number, k: number, stride: number): string {
    return this.bn(bn, this.conv(conv, x, this.width(conv, cout), k, stride));
  }

  /** timm's SEModule `name` over x: fc1 [RD, C, 1, 1] and fc2 [C, RD, 1, 1] with biases, RD from the file. */
  squeezeExcite(name: string, x: string): string {
    const c = this.b.shape(x)[2];
    const rd = this.width(`${name}.fc1`, Math.max(8, Math.round(c / 16)));
    const fc1 = permute(this.get(`${name}.fc1.weight`, [rd, c, 1, 1]), [rd, c], TRANSPOSE);
    const fc2 = permute(this.get(`${name}.fc2.weight`, [c, rd, 1, 1]), [c, rd], TRANSPOSE);
    const fc1Bias = this.get(`${name}.fc1.bias`, [rd]);
    return this.b.add(op.squeezeExcite(name, x, { fc1, fc1Bias, fc2, fc2Bias: this.get(`${name}.fc2.bias`, [c]) }));
  }

  relu(name: string, x: string): string {
    return this.b.add(op.relu(name, x));
  }

  fc(name: string, x: string, classes: number): string {
    const inF = this.b.shape(x)[2];
    const q = this.options.quantized?.(`${name}.weight`);
    return this.b.add(
      op.dense(name, x, {
        weights: permute(this.get(`${name}.weight`, [classes, inF]), [classes, inF], TRANSPOSE),
        quantized: q && { values: permute(q.values, [classes, inF], TRANSPOSE), scales: q.scales },
        bias: this.get(`${name}.bias`, [classes]),
        units: classes,
      }),
    );
  }
}

/** conv1 (+ bn1, ReLU) and the 3x3/2 max pool. */
function stem(l: LayerReader, arch: ResNetArchitecture): string {
  let x = 'input';
  if (arch.stem === 'plain') x = l.conv('conv1', x, l.width('conv1', 64), 7, 2);
  else {
    x = l.relu('conv1.2', l.convBn('conv1.0', 'conv1.1', x, 32, 3, 2));
    x = l.relu('conv1.5', l.convBn('conv1.3', 'conv1.4', x, 32, 3, 1));
    x = l.conv('conv1.6', x, l.width('conv1.6', 64), 3, 1);
  }
  x = l.relu('relu', l.bn('bn1', x));
  return l.b.add(op.maxPool('maxpool', x, { size: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], padValue: 'ignore' }));
}

/** Block `p` (`layerS.B`) of stage `s`: y = relu(F(x) + shortcut(x)). */
function residualBlock(l: LayerReader, arch: ResNetArchitecture, p: string, x: string, s: number, i: number): string {
  const stride = i === 0 && s > 0 ? 2 : 1;
  const planes = PLANES[s]!;
  let y: string;
  if (arch.block === 'basic') {
    y = l.relu(`${p}.relu1`, l.convBn(`${p}.conv1`, `${p}.bn1`, x, planes, 3, stride));
    y = l.convBn(`${p}.conv2`, `${p}.bn2`, y, planes, 3, 1);
  } else {
    const [s1, s3] = arch.definition === 'torchvision' ? [1, stride] : [stride, 1];
    y = l.relu(`${p}.relu1`, l.convBn(`${p}.conv1`, `${p}.bn1`, x, planes, 1, s1));
    y = l.relu(`${p}.relu2`, l.convBn(`${p}.conv2`, `${p}.bn2`, y, l.b.shape(y)[2], 3, s3));
    y = l.convBn(`${p}.conv3`, `${p}.bn3`, y, planes * 4, 1, 1);
  }
  const outC = l.b.shape(y)[2];
  const gate = arch.se ? l.squeezeExcite(`${p}.se`, y) : undefined;
  const sum = op.add(`${p}.add`, y, shortcut(l, arch, p, x, stride, outC), false, gate);
  return l.relu(`${p}.relu`, l.b.add(sum));
}

/** The identity, or the projection where the block changes shape. */
function shortcut(
  l: LayerReader,
  arch: ResNetArchitecture,
  p: string,
  x: string,
  stride: number,
  outC: number,
): string {
  if (stride === 1 && l.b.shape(x)[2] === outC) return x;
  const d = `${p}.downsample`;
  if (arch.shortcut === 'conv') return l.convBn(`${d}.0`, `${d}.1`, x, outC, 1, stride);
  const pooled =
    stride === 1
      ? x
      : l.b.add(
          op.avgPool(`${d}.0`, x, {
            size: [stride, stride],
            strides: [stride, stride],
            ceilMode: true,
            countIncludePad: false,
          }),
        );
  return l.convBn(`${d}.1`, `${d}.2`, pooled, outC, 1, 1);
}
