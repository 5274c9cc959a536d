/**
 * What the kernel tests compare with: a graph run node by node through each operator's float64 reference
 * (src/operators/<op>.ts `reference`: direct loops, NHWC / HWIO), random inputs, the error measure, and
 * weights rounded as a storage defines them (computed here, not by the engine's code).
 */
import type { Graph } from '../../src/graph/graph.js';
import type { RefTensor } from '../../src/ir/tensor.js';
import { inputsOf, operatorOf } from '../../src/operators/index.js';
import { random } from '../../src/util/random.js';

/** Every tensor of `graph` for `batch` images of `input` (NHWC), computed by the operators' references in float64. */
export function referenceTensors(
  graph: Graph,
  input: Float32Array | Float64Array,
  batch: number,
): Map<string, RefTensor> {
  const values = new Map<string, RefTensor>([
    [graph.input, { data: Float64Array.from(input), batch, shape: graph.shapes.get(graph.input)! }],
  ]);
  for (const node of graph.nodes) {
    const inputs = inputsOf(node).map((t) => values.get(t)!);
    values.set(node.output, operatorOf(node).reference(node, inputs));
  }
  return values;
}

/** The graph's output for `batch` images of `input`, by the operators' references (float64, then rounded to f32). */
export function referenceRun(graph: Graph, input: Float32Array | Float64Array, batch: number): Float32Array {
  return Float32Array.from(referenceTensors(graph, input, batch).get(graph.output)!.data);
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32, src/util/random.ts). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
}

/** max |a - b| / max(|b|, tiny). */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/**
 * The weights an int8 store stands for, computed here from the definition (symmetric, per column of a
 * row-major [rows][cols] matrix: s = max|w| / 127, w -> round(w / s) * s), not by the engine's code.
 */
export function roundToInt8Columns(weights: Float32Array, cols: number): Float32Array {
  const max = new Array<number>(cols).fill(0);
  for (const [i, w] of weights.entries()) max[i % cols] = Math.max(max[i % cols]!, Math.abs(w));
  return weights.map((w, i) => {
    const s = Math.fround(max[i % cols]! / 127);
    return s === 0 ? 0 : Math.round(w / s) * s;
  });
}
