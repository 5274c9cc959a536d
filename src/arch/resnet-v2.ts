/**
 * Pre-activation ResNets (He et al., "Identity Mappings in Deep Residual Networks", 2016), as timm's
 * ResNetV2 names them: stem.conv (7x7/2) and a 3x3/2 max pool; blocks stages.S.blocks.B whose branch starts
 * with BatchNorm + ReLU (norm1: the block's pre-activation), the projection shortcut (downsample.conv, a 1x1
 * conv, where the shape changes) reading that pre-activated tensor, the identity shortcut the block's input
 * itself, and no ReLU after the sum; a bottleneck's norm2 / norm3 (a basic block's norm2) before its next
 * convs, the stride on the 3x3 (the first 3x3 in a basic block); then the final norm (BatchNorm + ReLU),
 * the global average pool and head.fc, a 1x1 conv with bias. The BatchNorms after a sum run as their own
 * kernel (src/kernels/batchnorm.ts) or, read by convs only, as they read it (src/graph/passes.ts); the others fold
 * into the conv before them. A compact file (folded) holds the convs' biases and the standalone BatchNorms' scales
 * and shifts.
 */
import { type Graph, GraphBuilder } from '../graph/graph.js';
import * as op from '../operators/index.js';
import { permute, TRANSPOSE } from '../util/layout.js';
import { type LayerOptions, LayerReader, type ParamReader } from './layers.js';
import type { BlockKind } from './resnet.js';

export interface ResNetV2Architecture {
  block: BlockKind;
  /** Blocks per stage. */
  stages: number[];
  /** 'deep': timm's stem.conv1 /2, conv2, conv3 (3x3, widths from the tensors; norm1, norm2 + ReLU between). */
  stem?: 'plain' | 'deep';
  /** 'avgpool': a 2x2/s average pool (ceil mode, padding not counted) before downsample.conv (stride 1). */
  shortcut?: 'conv' | 'avgpool';
}

export interface ResNetV2BuildOptions extends LayerOptions {
  architecture: ResNetV2Architecture;
  classes?: number;
  inputSize?: number;
}

const PLANES = [64, 128, 256, 512];

export function buildResNetV2(get: ParamReader, options: ResNetV2BuildOptions): Graph {
  const arch = options.architecture;
  const size = options.inputSize ?? 224;
  const depth = 2 + (arch.block === 'bottleneck' ? 3 : 2) * arch.stages.reduce((a, b) => a + b, 0);
  const b = new GraphBuilder(`resnetv2_${depth}${arch.stem === 'deep' ? 'd' : ''}`, 'input', [size, size, 3]);
  const l = new LayerReader(b, get, options);
  let x: string;
  if (arch.stem === 'deep') {
    x = l.relu('stem.norm1.act', l.convBn('stem.conv1', 'stem.norm1', 'input', l.width('stem.conv1', 32), 3, 2));
    x = l.relu('stem.norm2.act', l.convBn('stem.conv2', 'stem.norm2', x, l.width('stem.conv2', 32), 3, 1));
    x = l.conv('stem.conv3', x, l.width('stem.conv3', 64), 3, 1);
  } else x = l.conv('stem.conv', 'input', l.width('stem.conv', 64), 7, 2);
  x = b.add(op.maxPool('stem.pool', x, { size: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], padValue: 'ignore' }));
  arch.stages.forEach((blocks, s) => {
    for (let i = 0; i < blocks; i++) x = preActBlock(l, arch, `stages.${s}.blocks.${i}`, x, s, i);
  });
  x = l.relu('norm.act', l.standaloneBn('norm', x));
  x = b.add(op.globalAvgPool('head.global_pool', x));
  const classes = options.classes ?? 1000;
  const c = b.shape(x)[2];
  const weights = permute(get('head.fc.weight', [classes, c, 1, 1]), [classes, c], TRANSPOSE);
  const logits = b.add(op.dense('head.fc', x, { weights, bias: get('head.fc.bias', [classes]), units: classes }));
  return b.finish(b.add(op.softmax('softmax', logits)));
}

/** Block `p` of stage `s`: y = F(bn_relu(x)) + shortcut, the shortcut x or downsample.conv(bn_relu(x)). */
function preActBlock(l: LayerReader, arch: ResNetV2Architecture, p: string, x: string, s: number, i: number): string {
  const { block } = arch;
  const stride = i === 0 && s > 0 ? 2 : 1;
  const planes = PLANES[s]!;
  const outC = l.width(`${p}.conv${block === 'bottleneck' ? 3 : 2}`, block === 'bottleneck' ? planes * 4 : planes);
  const pre = l.relu(`${p}.norm1.act`, l.standaloneBn(`${p}.norm1`, x));
  const projects = stride !== 1 || l.b.shape(x)[2] !== outC;
  const shortcut = projects ? projection(l, arch, `${p}.downsample`, pre, outC, stride) : x;
  let y: string;
  if (block === 'basic') {
    y = l.conv(`${p}.conv1`, pre, l.width(`${p}.conv1`, planes), 3, stride);
    y = l.conv(`${p}.conv2`, l.relu(`${p}.norm2.act`, l.bn(`${p}.norm2`, y)), outC, 3, 1);
  } else {
    y = l.conv(`${p}.conv1`, pre, l.width(`${p}.conv1`, planes), 1, 1);
    y = l.conv(`${p}.conv2`, l.relu(`${p}.norm2.act`, l.bn(`${p}.norm2`, y)), l.width(`${p}.conv2`, planes), 3, stride);
    y = l.conv(`${p}.conv3`, l.relu(`${p}.norm3.act`, l.bn(`${p}.norm3`, y)), outC, 1, 1);
  }
  return l.b.add(op.add(`${p}.add`, y, shortcut));
}

/** downsample.conv (1x1/stride), or ResNet-D's average pool (where the stride is 2) and the 1x1/1 conv. */
function projection(l: LayerReader, arch: ResNetV2Architecture, d: string, x: string, outC: number, stride: number) {
  if (arch.shortcut !== 'avgpool') return l.conv(`${d}.conv`, x, outC, 1, stride);
  return l.conv(`${d}.conv`, l.avgPoolDown(`${d}.pool`, x, stride), outC, 1, 1);
}
