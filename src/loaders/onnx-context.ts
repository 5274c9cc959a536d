/**
 * What an ONNX operator's handler (src/loaders/onnx-ops.ts, onnx-gates.ts) sees: the node, its attributes
 * and inputs (activations already in the graph, constants from the initializers), and the graph being built.
 */
import { GraphError } from '../errors.js';
import type { GraphBuilder } from '../graph/graph.js';
import type { DenseNode } from '../operators/index.js';

export type Long = { toNumber(): number };
export const num = (v: number | Long | null | undefined, fallback = 0): number =>
  v == null ? fallback : typeof v === 'number' ? v : v.toNumber();

export interface OnnxTensor {
  dims: number[];
  data: Float32Array | number[];
}
export interface RawTensor {
  name?: string;
  dims?: Array<number | Long>;
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: Array<number | Long>;
  rawData?: Uint8Array;
  doubleData?: number[];
  dataLocation?: number;
}
interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number | Long;
  s?: Uint8Array;
  ints?: Array<number | Long>;
  floats?: number[];
  t?: RawTensor;
}
export interface OnnxNode {
  name?: string;
  opType: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}

/** What the whole graph's handlers share: the builder, constants, produced tensors, the opset. */
export interface OnnxGraphState {
  b: GraphBuilder;
  init: Map<string, OnnxTensor>;
  /** ONNX tensor name -> the IR tensor that holds it. */
  tensor: Map<string, string>;
  /** A MatMul's output -> its dense node (a following Add is its bias). */
  denseOf: Map<string, DenseNode>;
  /** A Mul by a squeeze-and-excitation gate, held for the Add that reads it (src/loaders/onnx-gates.ts). */
  gated: Map<string, { input: string; gate: string }>;
  opset: number;
}

/** One node as its handler sees it. */
export class OnnxNodeContext {
  readonly label: string;
  readonly name: string;
  private readonly attrs: Map<string, OnnxAttribute>;

  constructor(
    readonly node: OnnxNode,
    index: number,
    readonly g: OnnxGraphState,
  ) {
    this.label = `node ${node.name || `#${index}`} (${node.opType})`;
    this.name = node.name || node.output[0]!;
    this.attrs = new Map(node.attribute.map((a) => [a.name, a]));
  }

  fail(why: string): never {
    throw new GraphError(`${this.label}: ${why}`);
  }
  ints(name: string, fallback: number[]): number[] {
    return this.attrs.get(name)?.ints?.map((v) => num(v)) ?? fallback;
  }
  int(name: string, fallback: number): number {
    return num(this.attrs.get(name)?.i, fallback);
  }
  float(name: string, fallback: number): number {
    return this.attrs.get(name)?.f ?? fallback;
  }
  str(name: string, fallback: string): string {
    const s = this.attrs.get(name)?.s;
    return s ? new TextDecoder().decode(s) : fallback;
  }
  allowOnly(names: string[]): void {
    for (const a of this.attrs.keys()) if (!names.includes(a)) this.fail(`attribute ${a} is not supported`);
  }
  /** The activation at input `i`. */
  act(i: number): string {
    const t = this.g.tensor.get(this.node.input[i] ?? '');
    if (!t)
      this.fail(
        `input ${this.node.input[i]} is ` +
          (this.g.init.has(this.node.input[i] ?? '')
            ? 'a constant where an activation is expected'
            : 'not produced by an earlier node'),
      );
    return t;
  }
  /** The initializer at input `i`. */
  constant(i: number, what: string): OnnxTensor {
    const t = this.g.init.get(this.node.input[i] ?? '');
    if (!t) this.fail(`${what} (${this.node.input[i] ?? 'missing'}) must be an initializer`);
    return t;
  }
}
