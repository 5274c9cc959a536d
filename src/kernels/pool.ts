import avgPool from '../../shaders/avg_pool.wgsl';
import globalAvgPool from '../../shaders/global_avg_pool.wgsl';
import maxpool from '../../shaders/maxpool.wgsl';
import poolWindow from '../../shaders/pool_window.wgsl';
import type { Pads, Shape } from '../ir/tensor.js';
import { elementwiseWorkgroups, WORKGROUP_SIZE } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { activations, bindKernel, params, type KernelInterface } from './bindings.js';
import { shader } from './shader.js';
import { specialize } from './wgsl.js';

/** A tensor in, a tensor out: what a pool's kernel reads of its node. */
interface PoolTensors {
  name: string;
  input: string;
  output: string;
}

/** A max pool as its kernel reads it (src/operators/maxpool.ts's node is one). */
export interface MaxPoolSpec extends PoolTensors {
  size: [number, number];
  strides: [number, number];
  pads: Pads;
  /** What padded positions hold: 0 (Keras ZeroPadding2D folded in) or nothing (-inf, PyTorch). */
  padValue: 'zero' | 'ignore';
}

/** An average pool as its kernel reads it (src/operators/avgpool.ts's node is one). */
export interface AvgPoolSpec extends PoolTensors {
  size: [number, number];
  strides: [number, number];
  pads: Pads;
  /** Divide by the window clipped to the padded input (PyTorch's count_include_pad), else by the pixels inside. */
  countIncludePad: boolean;
}

/** Max and average pooling and the global average pool: the batch, the input, the output. */
export const POOL_BINDINGS = {
  params: { binding: 0, kind: 'uniform' },
  input: { binding: 1, kind: 'activations' },
  output: { binding: 2, kind: 'activations' },
} as const satisfies KernelInterface;

/** The bindings of a pool over `t` elements (f32 or vec4). */
const poolBindings = (node: PoolTensors, t: string) =>
  bindKernel(POOL_BINDINGS, {
    params: params(),
    input: activations(node.input, t),
    output: activations(node.output, t),
  });

/**
 * A window pool over `inShape` into `outShape` (pool_window.wgsl, then `file`'s main loop): the shared
 * geometry, and the op's own defines (`own`).
 */
function windowPoolKernel(
  node: PoolTensors & { size: [number, number]; strides: [number, number]; pads: Pads },
  [inH, inW, c]: Shape,
  [outH, outW]: Shape,
  op: { name: string; file: string; source: string; own: Record<string, number | boolean> },
): Kernel {
  const vec = c % 4 === 0;
  const cv = vec ? c / 4 : c;
  const t = vec ? 'vec4<f32>' : 'f32';
  const { wgsl, resources } = poolBindings(node, t);
  const [kh, kw] = node.size;
  const geometry = {
    T: t,
    CV: cv,
    IN_H: inH,
    IN_W: inW,
    OUT_H: outH,
    OUT_W: outW,
    KH: kh,
    KW: kw,
    STRIDE_H: node.strides[0],
    STRIDE_W: node.strides[1],
    PAD_T: node.pads[0],
    PAD_L: node.pads[1],
    WORKGROUP_SIZE,
  };
  const own = { T: t, ...op.own };
  const code = () => wgsl + specialize('pool_window.wgsl', poolWindow, geometry) + specialize(op.file, op.source, own);
  return {
    label: node.name,
    bindings: POOL_BINDINGS,
    shader: shader(op.name, { wgsl, geometry, own }, code),
    resources,
    workgroups: (batch, max) => elementwiseWorkgroups(batch * outH * outW * cv, max),
    flopsPerImage: outH * outW * c * kh * kw,
  };
}

export function maxPoolKernel(node: MaxPoolSpec, inShape: Shape, outShape: Shape): Kernel {
  const own = { PAD_ZERO: node.padValue === 'zero' };
  return windowPoolKernel(node, inShape, outShape, { name: 'maxpool', file: 'maxpool.wgsl', source: maxpool, own });
}

export function avgPoolKernel(node: AvgPoolSpec, inShape: Shape, outShape: Shape): Kernel {
  const own = { PAD_B: node.pads[2], PAD_R: node.pads[3], COUNT_PAD: node.countIncludePad };
  return windowPoolKernel(node, inShape, outShape, { name: 'avg_pool', file: 'avg_pool.wgsl', source: avgPool, own });
}

export function globalAvgPoolKernel(node: PoolTensors, inShape: Shape): Kernel {
  const [h, w, c] = inShape;
  const vec = c % 4 === 0;
  const cv = vec ? c / 4 : c;
  const t = vec ? 'vec4<f32>' : 'f32';
  const { wgsl, resources } = poolBindings(node, t);
  const defines = { T: t, CV: cv, HW: h * w, WORKGROUP_SIZE };
  return {
    label: node.name,
    bindings: POOL_BINDINGS,
    shader: shader(
      'global_avg_pool',
      { wgsl, defines },
      () => wgsl + specialize('global_avg_pool.wgsl', globalAvgPool, defines),
    ),
    resources,
    workgroups: (batch, max) => elementwiseWorkgroups(batch * cv, max),
    flopsPerImage: h * w * c,
  };
}
