import source from '../../shaders/preprocess.wgsl';
import {
  CENTER_VIEW,
  cropOrigin,
  RESIZE_FILTERS,
  resizedSize,
  type CropView,
  type Preprocessing,
} from '../preprocess/preprocess.js';
import { declareBindings, type KernelInterface } from './bindings.js';
import { specialize } from './wgsl.js';

/** The preprocessing kernel's bindings: the image, its resize and normalization, the network's input slot. */
export const PREPROCESS_BINDINGS = {
  source: { binding: 0, kind: 'texture' },
  resize: { binding: 1, kind: 'uniform' },
  output: { binding: 2, kind: 'activations' },
} as const satisfies KernelInterface;

/**
 * The GPU preprocessing kernel for `spec` (shaders/preprocess.wgsl); `srgb`: the texture is an -srgb
 * format, whose texels read as linear values, so the kernel encodes them back to the bytes they were.
 */
export function preprocessShader(spec: Preprocessing, srgb = false): string {
  return (
    declareBindings(PREPROCESS_BINDINGS, { source: undefined, resize: 'Resize', output: 'f32' }) +
    specialize('preprocess.wgsl', source, {
      CROP: spec.cropTo,
      PIXEL_SCALE: `${spec.scale}f`,
      BGR: spec.order === 'BGR',
      SRGB: srgb,
      BICUBIC: spec.interpolation === 'bicubic',
    })
  );
}

export const PREPROCESS_PARAMS_BYTES = 80;

/** Its uniform block for a `width` x `height` source image and the crop `view` (32 bytes + 3 vec4 = 80 bytes). */
export function preprocessParams(
  spec: Preprocessing,
  width: number,
  height: number,
  view: CropView = CENTER_VIEW,
): ArrayBuffer {
  const [rw, rh] = resizedSize(width, height, spec.resizeTo);
  const [cx, cy] = cropOrigin(rw, rh, spec.cropTo, view);
  const buf = new ArrayBuffer(PREPROCESS_PARAMS_BYTES);
  const f = new Float32Array(buf);
  const u = new Uint32Array(buf);
  const taps = RESIZE_FILTERS[spec.interpolation ?? 'bilinear'].support;
  f[0] = width / rw;
  f[1] = height / rh;
  f[2] = taps * Math.max(width / rw, 1);
  f[3] = taps * Math.max(height / rh, 1);
  f[16] = Math.max(width / rw, 1);
  f[17] = Math.max(height / rh, 1);
  u[4] = cx;
  u[5] = cy;
  u[6] = view.flip ? 1 : 0;
  f.set([...spec.mean, 0], 8);
  f.set([...spec.std, 1], 12);
  return buf;
}

/** The 1-based dispatch size: one invocation per output pixel in 8 x 8 workgroups. */
export const preprocessWorkgroups = (spec: Preprocessing): [number, number, number] => [
  Math.ceil(spec.cropTo / 8),
  Math.ceil(spec.cropTo / 8),
  1,
];
