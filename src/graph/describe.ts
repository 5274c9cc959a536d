/**
 * A network's family name, read from its graph (so for every weights format): depth in the ResNet sense,
 * grouped convs (ResNeXt CxWd: cardinality x width per group in the first stage), widened bottlenecks
 * (Wide ResNet), squeeze-and-excitation, pre-activation (v2: BatchNorms no conv before them could take), the
 * deep stem and the average-pool shortcut of ResNet-C/D.
 * E.g. "SE-ResNeXt-26 32x4d, deep stem, avg-pool shortcut", "Wide ResNet-50-2", "ResNet-50".
 */
import type { Conv2dNode } from '../operators/index.js';
import { type Graph, weightDepth } from './graph.js';

/** Whether an average pool feeds a conv (ResNet-D's shortcut; not an AveragePool head). */
function avgPoolShortcut(graph: Graph): boolean {
  const pooled = new Set(graph.nodes.filter((n) => n.op === 'avgpool').map((n) => n.output));
  return graph.nodes.some((n) => n.op === 'conv2d' && pooled.has(n.input));
}

/** The convs before the stem's max pool (1, or 3 in a deep stem). */
function stemConvCount(graph: Graph): number {
  const pool = graph.nodes.findIndex((n) => n.op === 'maxpool');
  return pool < 0 ? 1 : graph.nodes.slice(0, pool).filter((n) => n.op === 'conv2d').length;
}

/** The depth in the ResNet sense: weight layers on the longest path, a deep stem counted as one (timm's names). */
export const resnetDepth = (graph: Graph): number => weightDepth(graph) - Math.max(0, stemConvCount(graph) - 1);

export function describeNetwork(graph: Graph): string {
  const convs = graph.nodes.filter((n): n is Conv2dNode => n.op === 'conv2d');
  const stemConvs = stemConvCount(graph);
  const depth = resnetDepth(graph);
  const se = graph.nodes.some((n) => n.op === 'squeezeexcite') ? 'SE-' : '';
  const grouped = convs.find((c) => (c.groups ?? 1) > 1);
  const traits = [...(stemConvs === 3 ? ['deep stem'] : []), ...(avgPoolShortcut(graph) ? ['avg-pool shortcut'] : [])];
  let name = `${se}ResNet-${depth}`;
  if (grouped) {
    const groups = grouped.groups!;
    name = `${se}ResNeXt-${depth} ${groups}x${grouped.bias.length / groups}d`;
  } else {
    // a bottleneck's first 1x1 conv after the stem: 64 channels in ResNet, 64 x k in Wide ResNet-D-k
    const first = convs[stemConvs];
    const bottleneck = convs[stemConvs + 2]?.kernel[0] === 1 && first?.kernel[0] === 1;
    const widen = first ? first.bias.length / 64 : 1;
    if (bottleneck && Number.isInteger(widen) && widen > 1) name = `${se}Wide ResNet-${depth}-${widen}`;
  }
  // pre-activation: a BatchNorm that no conv took (after a residual sum), or one a conv applies as it reads
  const preActivation = graph.nodes.some((n) => n.op === 'batchnorm') || convs.some((c) => c.preact);
  return [preActivation ? `${name} v2 (pre-activation)` : name, ...traits].join(', ');
}
