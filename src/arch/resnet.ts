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
 *  - se: a squeeze-and-excitation gate (se.fc1, se.fc2) scaling each block's branch before the residual sum;
 *  - stemPool 'ceil', branchRelu: the stem's max pool unpadded, in ceil mode, and a ReLU ending a basic block's
 *    branch (timm's legacy SENet).
 * Every width is read from the tensors when `shapeOf` is given (Wide ResNet, tiered stems, any width per
 * stage) and so are the groups of a grouped conv (ResNeXt), else the standard ones. The builder reads each
 * parameter through `get(name, shape)` in PyTorch layout (conv OIHW, fc [out, in]) and emits the raw graph
 * IR; the load-time passes fold and fuse it. A `folded` state_dict (src/export/compact.ts) has BatchNorm
 * already in each conv's weight and bias, and may carry int8 weights (`quantized`), kept on the nodes as they are.
 */
import { ModelFormatError } from '../errors.js';
import { type Graph, GraphBuilder } from '../graph/graph.js';
import type { Pads } from '../ir/tensor.js';
import * as op from '../operators/index.js';
import { LayerReader, type LayerOptions, type ParamReader } from './layers.js';

export type { ParamReader };

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
  /** 'ceil': the stem's 3x3/2 max pool without padding, rounding up (timm's legacy SENet); else padded by 1. */
  stemPool?: 'ceil';
  /** A ReLU ending each basic block's branch, before its gate and the sum (timm's legacy SEResNetBlock). */
  branchRelu?: boolean;
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

export interface ResNetBuildOptions extends LayerOptions {
  architecture: ResNetArchitecture;
  classes?: number;
  inputSize?: number;
}

const PLANES = [64, 128, 256, 512];

export function buildResNet(get: ParamReader, options: ResNetBuildOptions): Graph {
  const arch = options.architecture;
  const size = options.inputSize ?? 224;
  const b = new GraphBuilder(architectureId(arch), 'input', [size, size, 3]);
  const epsilon = options.epsilon ?? (arch.definition === 'torchvision' ? 1e-5 : 1e-3);
  const layers = new LayerReader(b, get, { ...options, epsilon });
  let x = stem(layers, arch);
  arch.stages.forEach((blocks, s) => {
    for (let i = 0; i < blocks; i++) x = residualBlock(layers, arch, `layer${s + 1}.${i}`, x, s, i);
  });
  x = b.add(op.globalAvgPool('avgpool', x));
  return b.finish(b.add(op.softmax('softmax', layers.fc('fc', x, options.classes ?? 1000))));
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
  const window = arch.stemPool === 'ceil' ? { ceilMode: true } : { pads: [1, 1, 1, 1] as Pads };
  return l.b.add(op.maxPool('maxpool', x, { size: [3, 3], strides: [2, 2], padValue: 'ignore', ...window }));
}

/** Block `p` (`layerS.B`) of stage `s`: y = relu(F(x) + shortcut(x)). */
function residualBlock(l: LayerReader, arch: ResNetArchitecture, p: string, x: string, s: number, i: number): string {
  const stride = i === 0 && s > 0 ? 2 : 1;
  const planes = PLANES[s]!;
  let y: string;
  if (arch.block === 'basic') {
    y = l.relu(`${p}.relu1`, l.convBn(`${p}.conv1`, `${p}.bn1`, x, planes, 3, stride));
    y = l.convBn(`${p}.conv2`, `${p}.bn2`, y, planes, 3, 1);
    if (arch.branchRelu) y = l.relu(`${p}.relu2`, y);
  } else {
    const [s1, s3] = arch.definition === 'torchvision' ? [1, stride] : [stride, 1];
    y = l.relu(`${p}.relu1`, l.convBn(`${p}.conv1`, `${p}.bn1`, x, planes, 1, s1));
    y = l.relu(`${p}.relu2`, l.convBn(`${p}.conv2`, `${p}.bn2`, y, l.b.shape(y)[2], 3, s3, true));
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
  return l.convBn(`${d}.1`, `${d}.2`, l.avgPoolDown(`${d}.0`, x, stride), outC, 1, 1);
}
