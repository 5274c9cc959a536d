/**
 * An ONNX graph as it is written (src/export/onnx.ts): initializers and nodes, each operator writing its
 * own (src/operators/<op>.ts `toOnnx`), and the IR tensors renamed where a node takes an extra step.
 * Parameter names follow PyTorch's state_dict: `<node>.weight`, `.bias`, `.running_mean`, `.running_var`.
 */
import type { Pads } from '../ir/tensor.js';
import { ONNX_FLOAT, ONNX_INT64 } from './schema.js';

/** An ONNX attribute of integers (type INTS) and of one integer (type INT). */
export const ints = (name: string, v: readonly number[]): object => ({ name, type: 7, ints: v });
export const int = (name: string, i: number): object => ({ name, type: 2, i });
export const float = (name: string, f: number): object => ({ name, type: 1, f });

/** One ONNX node as written: its name, operator, inputs and attributes (the output is given apart). */
export interface OnnxNodeSpec {
  name: string;
  opType: string;
  input: string[];
  attribute?: object[];
}

export class OnnxWriter {
  readonly initializer: object[] = [];
  readonly nodes: object[] = [];
  /** IR tensor -> ONNX name, where a node takes an extra step. */
  readonly renamed = new Map<string, string>();

  /** The ONNX name of IR tensor `id`. */
  name(id: string): string {
    return this.renamed.get(id) ?? id;
  }

  /** A float initializer; returns its name. */
  param(name: string, dims: number[], data: Float32Array): string {
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializer.push({ name, dims, dataType: ONNX_FLOAT, rawData });
    return name;
  }

  /** An int64 initializer; returns its name. */
  int64s(name: string, values: number[]): string {
    this.initializer.push({ name, dims: [values.length], dataType: ONNX_INT64, int64Data: values });
    return name;
  }

  /** A node with one output. */
  push(node: OnnxNodeSpec, output: string): void {
    this.nodes.push({ ...node, output: [output] });
  }

  /**
   * A zero Pad node over H and W (ONNX pads: begins of N, C, H, W, then their ends; the IR's pads are
   * [top, left, bottom, right]); returns its output.
   */
  pad(name: string, input: string, output: string, [t, l, b, r]: Pads): string {
    this.push({ name, opType: 'Pad', input: [input, this.int64s(`${name}.pads`, [0, 0, t, l, 0, 0, b, r])] }, output);
    return output;
  }

  /** Pushes `node` so that `output` ends up holding its result plus `residual` (an Add), then a Relu where asked. */
  emit(node: OnnxNodeSpec, output: string, residual?: string, relu = false): void {
    let x = residual || relu ? `${output}.${node.opType.toLowerCase()}` : output;
    this.push(node, x);
    if (residual) {
      const sum = relu ? `${output}.add` : output;
      this.push({ name: `${node.name}.add`, opType: 'Add', input: [x, residual] }, sum);
      x = sum;
    }
    if (relu) this.push({ name: `${node.name}.relu`, opType: 'Relu', input: [x] }, output);
  }
}
