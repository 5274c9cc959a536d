/**
 * The parts every conv kernel is joined from (src/kernels/conv.ts, conv-winograd.ts): its bindings
 * (CONV_BINDINGS, the one interface of the family) with shaders/conv_constants.wgsl, a gather (how a row of
 * A is read) and shaders/conv_epilogue.wgsl (bias, residual, ReLU on the way out).
 */
import { GraphError } from '../errors.js';
import type { Shape } from '../ir/tensor.js';
import { activations, type Bound, bindKernel, constants, type KernelInterface, params } from './bindings.js';
import { CONV_SHADERS } from './conv-shaders.js';
import type { ConvAlgorithm, ConvGather, ConvSpec } from './conv-types.js';
import { padColumns } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { epilogueScales, type WeightStorage } from './weight-storage.js';
import { specialize } from './wgsl.js';

/** The bindings of every conv kernel (shaders/conv_constants.wgsl says what each holds). */
export const CONV_BINDINGS = {
  params: { binding: 0, kind: 'uniform' },
  input: { binding: 1, kind: 'activations' },
  weights: { binding: 2, kind: 'constants' },
  bias: { binding: 3, kind: 'constants' },
  residual: { binding: 4, kind: 'activations' },
  output: { binding: 5, kind: 'activations' },
  scale: { binding: 6, kind: 'constants' },
  preact: { binding: 7, kind: 'constants' },
} as const satisfies KernelInterface;
export type ConvBound = Partial<Record<keyof typeof CONV_BINDINGS, Bound>>;

/** One conv GEMM's geometry: the spec, its shapes, K, output vec4 columns, output rows per image. */
export interface Gemm {
  spec: ConvSpec;
  inShape: Shape;
  outShape: Shape;
  k: number;
  nv: number;
  ohw: number;
  /** Whether A is read as vec4 (CIN a multiple of 4, not the rows gather). */
  vecA: boolean;
}

/** One kernel's bindings (of CONV_BINDINGS, `bound` plus params) and constants, and its resource list. */
export function convInterface(
  g: Gemm,
  bound: ConvBound,
  subgroups = false,
): { code: string; resources: Kernel['resources'] } {
  const { wgsl, resources } = bindKernel(CONV_BINDINGS, { params: params(), ...bound }, subgroups ? ['subgroups'] : []);
  const defines = { K: g.k, NV: g.nv, COUT: g.outShape[2], OHW: g.ohw };
  return { code: wgsl + specialize('conv_constants.wgsl', CONV_SHADERS.constants, defines), resources };
}

export function epilogueCode(g: Gemm, partial: boolean, scaled: boolean): string {
  return specialize('conv_epilogue.wgsl', CONV_SHADERS.epilogue, {
    PARTIAL: partial,
    SCALED: scaled && !partial,
    RESIDUAL: g.spec.residual !== undefined,
    RELU: g.spec.relu,
    VEC_OUT: g.outShape[2] % 4 === 0,
  });
}

export const outputType = (g: Gemm): string => (g.outShape[2] % 4 === 0 ? 'vec4<f32>' : 'f32');

/** What the epilogue binds: the bias, the residual, the int8 scales. */
export function epilogueBindings(g: Gemm, scaled: boolean): ConvBound {
  const { spec } = g;
  const cout = g.outShape[2];
  return {
    bias: constants(`${spec.name}/bias`, () => padColumns(spec.bias, 1, cout)),
    residual: spec.residual ? activations(spec.residual, outputType(g)) : undefined,
    scale: scaled ? constants(`${spec.name}/scale (int8)`, () => epilogueScales(spec, g.k, cout)) : undefined,
  };
}

/** shaders/conv_preact.wgsl: preact4 / preact1 applying the conv's pre-activation (`applied`) or none. */
export function preactCode({ spec, inShape }: Gemm, applied = true): string {
  const cin = inShape[2];
  const preact = applied ? spec.preact : undefined;
  if (preact && cin % 4 !== 0)
    throw new GraphError(`${spec.name}: a pre-activation needs input channels a multiple of 4 (got ${cin})`);
  const defines = { PREACT: preact !== undefined, RELU: preact?.relu ?? false, CIN4: Math.floor(cin / 4) };
  return specialize('conv_preact.wgsl', CONV_SHADERS.preact, defines);
}

/** What the pre-activation binds: the scales then the shifts (vec4), where the conv has one. */
export function preactBinding({ spec }: Gemm): ConvBound {
  const p = spec.preact;
  if (!p) return {};
  const pack = () => {
    const both = new Float32Array(2 * p.scale.length);
    both.set(p.scale);
    both.set(p.shift, p.scale.length);
    return both;
  };
  return { preact: constants(`${spec.name}/preact`, pack) };
}

/** The gather of a pointwise (1x1, unpadded) conv over an input of `inShape` into rows of `outW` pixels. */
export function pointwiseGather(vecA: boolean, [inH, inW, cin]: Shape, outW: number, stride: number): string {
  const defines = { VEC_A: vecA, CIN: cin, IN_W: inW, IN_HW: inH * inW, OUT_W: outW, STRIDE: stride };
  return specialize('conv_gather_pointwise.wgsl', CONV_SHADERS.gatherPointwise, defines);
}

/** shaders/conv_window.wgsl for the conv: where each output pixel's window starts (the windowed gathers' and the
 * grouped loop's). */
export function windowOrigin({ spec, inShape, outShape }: Gemm): string {
  return specialize('conv_window.wgsl', CONV_SHADERS.window, {
    IN_H: inShape[0],
    IN_W: inShape[1],
    OUT_W: outShape[1],
    STRIDE_H: spec.strides[0],
    STRIDE_W: spec.strides[1],
    PAD_T: spec.pads[0],
    PAD_L: spec.pads[1],
  });
}

export function gatherCode(g: Gemm, gather: ConvGather): string {
  const { spec, inShape, outShape } = g;
  const cin = inShape[2];
  const outW = outShape[1];
  if (gather === 'pointwise') {
    const [kh, kw] = spec.kernel;
    if (kh !== 1 || kw !== 1 || spec.pads.some((p) => p !== 0) || spec.strides[0] !== spec.strides[1]) {
      throw new Error(`${spec.name}: the pointwise gather needs a 1x1 kernel, no padding and equal strides`);
    }
    return preactCode(g) + pointwiseGather(g.vecA, inShape, outW, spec.strides[0]);
  }
  if (gather === 'rows' && spec.preact) throw new GraphError(`${spec.name}: the rows gather has no pre-activation`);
  const origin = windowOrigin(g);
  const kw = spec.kernel[1];
  const rows =
    gather === 'window'
      ? specialize('conv_gather_window.wgsl', CONV_SHADERS.gatherWindow, { VEC_A: g.vecA, CIN: cin, KW: kw })
      : specialize('conv_gather_rows.wgsl', CONV_SHADERS.gatherRows, { CIN: cin, ROW: kw * cin });
  return preactCode(g) + origin + rows;
}

/** A GEMM kernel's code inputs without its tiling: the key of the same kernel under any tiling (the autotune's). */
export function gemmKey(inputs: { algorithm: ConvAlgorithm }): string {
  const { algorithm } = inputs;
  return JSON.stringify({ ...inputs, algorithm: { ...algorithm, tiling: undefined } });
}

/** ", f16 weights" (nothing for f32): how a profile's detail names the storage. */
export const storageNote = (storage: WeightStorage): string => (storage === 'f32' ? '' : `, ${storage} weights`);
