/**
 * Conv, BatchNorm, squeeze-and-excitation and dense layers of a ResNet-family network read from a
 * state_dict (src/arch/resnet.ts, resnet-v2.ts): each parameter through `get(name, shape)` in PyTorch
 * layout (conv OIHW, fc [out, in]), widths and groups from the file's shapes where it has them.
 */
import type { GraphBuilder } from '../graph/graph.js';
import type { QuantizedWeights } from '../ir/tensor.js';
import * as op from '../operators/index.js';
import { OIHW_TO_HWIO, permute, TRANSPOSE } from '../util/layout.js';

/** Reads one parameter in PyTorch layout; must throw (naming the tensor) when it is missing or misshapen. */
export type ParamReader = (name: string, shape: number[]) => Float32Array;

export interface LayerOptions {
  /** BatchNorm epsilon (default 1e-5). */
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

/** Conv, BatchNorm and dense layers read from the parameters, widths from the file where it has them. */
export class LayerReader {
  readonly epsilon: number;

  constructor(
    readonly b: GraphBuilder,
    private readonly get: ParamReader,
    private readonly options: LayerOptions,
  ) {
    this.epsilon = options.epsilon ?? 1e-5;
  }

  /** Output channels of conv `name`: its weight's first dimension in the file, else `standard`. */
  width(name: string, standard: number): number {
    return this.options.shapeOf?.(`${name}.weight`)?.[0] ?? standard;
  }

  /** Conv `name` (`grouped`: its groups from the file's weight, CIN / its second dimension: ResNeXt's 3x3). */
  conv(name: string, x: string, cout: number, k: number, stride: number, grouped = false): string {
    const cin = this.b.shape(x)[2];
    // a grouped conv's weight has CIN / groups input channels (ResNeXt's 3x3)
    const perGroup = this.options.shapeOf?.(`${name}.weight`)?.[1];
    const groups = grouped && perGroup && perGroup < cin && cin % perGroup === 0 ? cin / perGroup : 1;
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

  /**
   * A BatchNorm no conv before it can take (a pre-activation ResNet's norm1 and final norm): its parameters, or
   * in a folded file (a compact one) its affine form, `<name>.weight` the scale and `<name>.bias` the shift.
   */
  standaloneBn(name: string, x: string): string {
    if (!this.options.folded) return this.bn(name, x);
    const c = this.b.shape(x)[2];
    const affine = { gamma: this.get(`${name}.weight`, [c]), beta: this.get(`${name}.bias`, [c]) };
    const identity = { mean: new Float32Array(c), variance: new Float32Array(c).fill(1), epsilon: 0 };
    return this.b.add(op.batchNorm(name, x, { ...affine, ...identity }));
  }

  convBn(conv: string, bn: string, x: string, cout: number, k: number, stride: number, grouped = false): string {
    return this.bn(bn, this.conv(conv, x, this.width(conv, cout), k, stride, grouped));
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

  /** ResNet-D's pool before a projection: a stride x stride average pool (ceil mode, padding not counted); x at 1. */
  avgPoolDown(name: string, x: string, stride: number): string {
    if (stride === 1) return x;
    const window: [number, number] = [stride, stride];
    return this.b.add(op.avgPool(name, x, { size: window, strides: window, ceilMode: true, countIncludePad: false }));
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
