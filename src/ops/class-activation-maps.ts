/**
 * Class activation maps for every class (shaders/class_activation_maps.wgsl): the tensor the global
 * average pool reads, times the dense layer's weights (the same GPU constants the dense kernel uses), and
 * the logits copied after the maps. Its output is a tensor of the kernel's own: [HW + 1, 1, NV * 4].
 */
import cam from '../../shaders/class_activation_maps.wgsl';
import weightsVec4 from '../../shaders/weights_vec4.wgsl';
import { GraphError } from '../errors.js';
import type { DenseNode, Shape } from '../graph/ir.js';
import { ceilDiv, type Kernel } from './kernel.js';
import { specialize } from './wgsl.js';
import { COLUMN_ELEMENT, epilogueScales, packColumns, type WeightStorage } from './weight-storage.js';

/** The id of the maps tensor a plan with class activation maps reads back. */
export const CAM_TENSOR = 'class activation maps';

/**
 * `features`: the pool's input tensor, of `shape`; `dense`: the classifier, reading `denseInputs` values;
 * `logits`: its output tensor. (Shapes only: a plan is made from them, the weights may be gone.)
 */
export function classActivationMapsKernel(features: string, shape: Shape, dense: DenseNode, denseInputs: number, logits: string, storage: WeightStorage = 'f32'): Kernel {
  const [h, w, c] = shape;
  const classes = dense.bias.length;
  if (c % 4 !== 0 || denseInputs !== c) {
    throw new GraphError(`${dense.name}: class activation maps need the dense layer to read the ${c} channels of ${features} directly (a multiple of 4)`);
  }
  const nv = ceilDiv(classes, 4);
  const scaled = storage === 'int8';
  const resources: Kernel['resources'] = [
    [1, { kind: 'tensor', id: features }],
    [2, { kind: 'constant', name: `${dense.name}/weights${storage === 'f32' ? '' : ` (${storage})`}`, pack: () => packColumns(storage, dense, c, classes) }],
    [3, { kind: 'tensor', id: logits }],
    [4, { kind: 'tensor', id: CAM_TENSOR }],
  ];
  if (scaled) resources.push([5, { kind: 'constant', name: `${dense.name}/scale (int8)`, pack: () => epilogueScales(dense, c, classes) }]);
  return {
    label: 'class activation maps',
    detail: `${h}x${w}x${c} x ${dense.name} -> ${h}x${w}x${classes}`,
    code: specialize('class_activation_maps.wgsl', cam, { W_T: COLUMN_ELEMENT[storage], SCALED: scaled, HW: h * w, C4: c / 4, NV: nv, CLASSES: classes }) +
      specialize('weights_vec4.wgsl', weightsVec4, { F16: storage === 'f16', INT8: scaled }),
    resources,
    scratch: [{ id: CAM_TENSOR, shape: [h * w + 1, 1, nv * 4] }],
    workgroups: (batch) => [ceilDiv(nv, 64), h * w + 1, batch],
    flopsPerImage: 2 * h * w * c * classes,
  };
}
