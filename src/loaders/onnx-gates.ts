/**
 * Squeeze-and-excitation in ONNX, as torch.onnx writes timm's SEModule: GlobalAveragePool (or ReduceMean
 * over H and W) -> Conv 1x1 -> Relu -> Conv 1x1 -> Sigmoid -> Mul with the block's branch -> Add of the
 * shortcut. The handlers build the chain node by node as any other; at the Sigmoid the chain becomes one
 * squeezeexcite node, and the Mul is held until the Add that follows reads it, which becomes the gated add.
 */
import * as op from '../operators/index.js';
import type { Conv2dNode, GraphNode } from '../operators/index.js';
import type { OnnxNodeContext } from './onnx-context.js';

/** Sigmoid: only as the end of a squeeze-and-excitation gate, which it turns into one node. */
export function sigmoid(c: OnnxNodeContext): string {
  const { b } = c.g;
  const made = new Map(b.nodes.map((n) => [n.output, n]));
  const fc2 = made.get(c.act(0));
  const act = fc2 && made.get(fc2.input);
  const fc1 = act && made.get(act.input);
  const pool = fc1 && made.get(fc1.input);
  const pointwise = (n: GraphNode | undefined): n is Conv2dNode =>
    n?.op === 'conv2d' && n.kernel.join() === '1,1' && !n.relu && !n.residual && !n.groups;
  if (!pointwise(fc2) || act?.op !== 'relu' || !pointwise(fc1) || pool?.op !== 'globalavgpool')
    c.fail('Sigmoid is supported only as a squeeze-and-excitation gate (mean, 1x1 conv, Relu, 1x1 conv, Sigmoid)');
  // HWIO of a 1x1 conv: fc1 [C][RD], fc2 [RD][C], as the gate holds them
  const chain = new Set<GraphNode>([pool, fc1, act, fc2]);
  b.nodes.splice(0, b.nodes.length, ...b.nodes.filter((n) => !chain.has(n)));
  for (const n of chain) b.shapes.delete(n.output);
  const params = { fc1: fc1.weights, fc1Bias: fc1.bias, fc2: fc2.weights, fc2Bias: fc2.bias };
  return b.add(op.squeezeExcite(c.name, pool.input, params));
}

/** Mul: only of a tensor by a squeeze-and-excitation gate, held for the Add that reads it. */
export function mul(c: OnnxNodeContext): string {
  const [a, b] = [c.act(0), c.act(1)];
  const isGate = (t: string) => c.g.b.nodes.find((n) => n.output === t)?.op === 'squeezeexcite';
  const [input, gate] = isGate(b) ? [a, b] : isGate(a) ? [b, a] : [undefined, undefined];
  if (!input || !gate) c.fail('Mul is supported only by a squeeze-and-excitation gate (a Sigmoid of one)');
  const held = `${c.name}/gated`;
  c.g.gated.set(held, { input, gate });
  return held;
}

/** The gated add of an Add whose first or second input is a held Mul; undefined when neither is. */
export function gatedAdd(c: OnnxNodeContext): string | undefined {
  const [a, b] = [c.g.tensor.get(c.node.input[0] ?? ''), c.g.tensor.get(c.node.input[1] ?? '')];
  const [held, other] = a && c.g.gated.has(a) ? [a, b] : b && c.g.gated.has(b) ? [b, a] : [undefined, undefined];
  if (!held) return undefined;
  if (!other || c.g.gated.has(other)) c.fail('a gated tensor must be added to an activation');
  const { input, gate } = c.g.gated.get(held)!;
  return c.g.b.add(op.add(c.name, input, other, false, gate));
}
