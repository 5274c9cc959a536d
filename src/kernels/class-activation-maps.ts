/**
 * Class activation maps for every class (shaders/class_activation_maps.wgsl): the tensor the global
 * average pool reads, times the dense layer's weights (the same GPU constants the dense kernel uses), and
 * the logits copied after the maps. Its output is a tensor of the kernel's own: [HW + 1, 1, NV * 4].
 */
import cam from '../../shaders/class_activation_maps.wgsl';
import weightsVec4 from '../../shaders/weights_vec4.wgsl';
import { GraphError } from '../errors.js';
import type { Shape } from '../ir/tensor.js';
import type { DenseSpec } from './dense.js';
import { ceilDiv } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { activations, bindKernel, constants, type KernelInterface } from './bindings.js';
import { shader } from './shader.js';
import { specialize } from './wgsl.js';
import { COLUMN_ELEMENT, epilogueScales, packColumns, type WeightStorage } from './weight-storage.js';

/** The id of the maps tensor a plan with class activation maps reads back. */
export const CAM_TENSOR = 'class activation maps';

export const CAM_BINDINGS = {
  features: { binding: 1, kind: 'activations' },
  weights: { binding: 2, kind: 'constants' },
  logits: { binding: 3, kind: 'activations' },
  output: { binding: 4, kind: 'activations' },
  scale: { binding: 5, kind: 'constants' },
} as const satisfies KernelInterface;

/**
 * `features`: the pool's input tensor, of `shape`; `dense`: the classifier, reading `denseInputs` values;
 * `logits`: its output tensor. (Shapes only: a plan is made from them, the weights may be gone.)
 */
export function classActivationMapsKernel(
  features: string,
  shape: Shape,
  dense: DenseSpec,
  denseInputs: number,
  logits: string,
  storage: WeightStorage = 'f32',
): Kernel {
  const [h, w, c] = shape;
  const classes = dense.bias.length;
  if (c % 4 !== 0 || denseInputs !== c) {
    throw new GraphError(
      `${dense.name}: class activation maps need the dense layer to read the ${c} channels of ${features} directly ` +
        `(a multiple of 4)`,
    );
  }
  const nv = ceilDiv(classes, 4);
  const scaled = storage === 'int8';
  const { wgsl, resources } = bindKernel(CAM_BINDINGS, {
    features: activations(features, 'vec4<f32>'),
    weights: constants(
      `${dense.name}/weights${storage === 'f32' ? '' : ` (${storage})`}`,
      () => packColumns(storage, dense, c, classes),
      COLUMN_ELEMENT[storage],
    ),
    logits: activations(logits),
    output: activations(CAM_TENSOR, 'vec4<f32>'),
    scale: scaled ? constants(`${dense.name}/scale (int8)`, () => epilogueScales(dense, c, classes)) : undefined,
  });
  return {
    label: 'class activation maps',
    bindings: CAM_BINDINGS,
    detail: `${h}x${w}x${c} x ${dense.name} -> ${h}x${w}x${classes}`,
    shader: shader(
      'class_activation_maps',
      { wgsl, hw: h * w, c, classes, storage },
      () =>
        wgsl +
        specialize('class_activation_maps.wgsl', cam, {
          SCALED: scaled,
          HW: h * w,
          C4: c / 4,
          NV: nv,
          CLASSES: classes,
        }) +
        specialize('weights_vec4.wgsl', weightsVec4, { F16: storage === 'f16', INT8: scaled }),
    ),
    resources,
    scratch: [{ id: CAM_TENSOR, shape: [h * w + 1, 1, nv * 4] }],
    workgroups: (batch) => [ceilDiv(nv, 64), h * w + 1, batch],
    flopsPerImage: 2 * h * w * c * classes,
  };
}
