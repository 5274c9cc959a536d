import source from '../../shaders/preprocess.wgsl';
import { cropOrigin, resizedSize, type Preprocessing } from '../preprocess/preprocess.js';
import { specialize } from './wgsl.js';

/** The GPU preprocessing kernel for `spec` (shaders/preprocess.wgsl). */
export function preprocessShader(spec: Preprocessing): string {
  return specialize('preprocess.wgsl', source, { CROP: spec.cropTo, PIXEL_SCALE: `${spec.scale}f`, BGR: spec.order === 'BGR' });
}

/** Its uniform block for a `width` x `height` source image (48 bytes + 2 vec4 = 64 bytes). */
export function preprocessParams(spec: Preprocessing, width: number, height: number): ArrayBuffer {
  const [rw, rh] = resizedSize(width, height, spec.resizeTo);
  const [cx, cy] = cropOrigin(rw, rh, spec.cropTo);
  const buf = new ArrayBuffer(64);
  const f = new Float32Array(buf);
  const u = new Uint32Array(buf);
  f[0] = width / rw; f[1] = height / rh;
  f[2] = Math.max(width / rw, 1); f[3] = Math.max(height / rh, 1);
  u[4] = cx; u[5] = cy;
  f.set([...spec.mean, 0], 8);
  f.set([...spec.std, 1], 12);
  return buf;
}

/** The 1-based dispatch size: one invocation per output pixel in 8 x 8 workgroups. */
export const preprocessWorkgroups = (spec: Preprocessing): [number, number, number] => [Math.ceil(spec.cropTo / 8), Math.ceil(spec.cropTo / 8), 1];
