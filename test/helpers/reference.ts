/** Plain TypeScript references for every kernel: direct loops, float64 accumulation, NHWC / HWIO. */
import { random } from '../../src/util/random.js';
import type { Pads } from '../../src/graph/ir.js';

export interface Tensor {
  data: Float32Array;
  batch: number;
  h: number;
  w: number;
  c: number;
}

export function conv2dRef(
  x: Tensor,
  weights: Float32Array,
  bias: Float32Array,
  p: {
    kernel: [number, number];
    strides: [number, number];
    pads: Pads;
    cout: number;
    residual?: Float32Array;
    relu?: boolean;
  },
): Tensor {
  const [kh, kw] = p.kernel;
  const oh = Math.floor((x.h + p.pads[0] + p.pads[2] - kh) / p.strides[0]) + 1;
  const ow = Math.floor((x.w + p.pads[1] + p.pads[3] - kw) / p.strides[1]) + 1;
  const out = new Float32Array(x.batch * oh * ow * p.cout);
  for (let n = 0; n < x.batch; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        for (let co = 0; co < p.cout; co++) {
          let s = bias[co]!;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * p.strides[0] - p.pads[0] + ky;
            if (iy < 0 || iy >= x.h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * p.strides[1] - p.pads[1] + kx;
              if (ix < 0 || ix >= x.w) continue;
              const xb = ((n * x.h + iy) * x.w + ix) * x.c;
              const wb = (ky * kw + kx) * x.c * p.cout + co;
              for (let ci = 0; ci < x.c; ci++) s += x.data[xb + ci]! * weights[wb + ci * p.cout]!;
            }
          }
          const o = ((n * oh + oy) * ow + ox) * p.cout + co;
          if (p.residual) s += p.residual[o]!;
          out[o] = p.relu ? Math.max(s, 0) : s;
        }
      }
  return { data: out, batch: x.batch, h: oh, w: ow, c: p.cout };
}

export function maxPoolRef(
  x: Tensor,
  p: { size: [number, number]; strides: [number, number]; pads: Pads; padValue: 'zero' | 'ignore' },
): Tensor {
  const oh = Math.floor((x.h + p.pads[0] + p.pads[2] - p.size[0]) / p.strides[0]) + 1;
  const ow = Math.floor((x.w + p.pads[1] + p.pads[3] - p.size[1]) / p.strides[1]) + 1;
  const out = new Float32Array(x.batch * oh * ow * x.c);
  for (let n = 0; n < x.batch; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let c = 0; c < x.c; c++) {
          let m = -Infinity;
          for (let ky = 0; ky < p.size[0]; ky++)
            for (let kx = 0; kx < p.size[1]; kx++) {
              const iy = oy * p.strides[0] - p.pads[0] + ky,
                ix = ox * p.strides[1] - p.pads[1] + kx;
              if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) {
                if (p.padValue === 'zero') m = Math.max(m, 0);
                continue;
              }
              m = Math.max(m, x.data[((n * x.h + iy) * x.w + ix) * x.c + c]!);
            }
          out[((n * oh + oy) * ow + ox) * x.c + c] = m;
        }
  return { data: out, batch: x.batch, h: oh, w: ow, c: x.c };
}

export function globalAvgPoolRef(x: Tensor): Float32Array {
  const out = new Float32Array(x.batch * x.c);
  for (let n = 0; n < x.batch; n++)
    for (let c = 0; c < x.c; c++) {
      let s = 0;
      for (let p = 0; p < x.h * x.w; p++) s += x.data[(n * x.h * x.w + p) * x.c + c]!;
      out[n * x.c + c] = s / (x.h * x.w);
    }
  return out;
}

export function denseRef(
  x: Float32Array,
  batch: number,
  weights: Float32Array,
  bias: Float32Array,
  units: number,
  relu = false,
): Float32Array {
  const inF = x.length / batch;
  const out = new Float32Array(batch * units);
  for (let n = 0; n < batch; n++)
    for (let j = 0; j < units; j++) {
      let s = bias[j]!;
      for (let k = 0; k < inF; k++) s += x[n * inF + k]! * weights[k * units + j]!;
      out[n * units + j] = relu ? Math.max(0, s) : s;
    }
  return out;
}

export function softmaxRef(x: Float32Array, batch: number): Float32Array {
  const c = x.length / batch;
  const out = new Float32Array(x.length);
  for (let n = 0; n < batch; n++) {
    const row = x.subarray(n * c, (n + 1) * c);
    const m = Math.max(...row);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    for (let i = 0; i < c; i++) out[n * c + i] = Math.exp(row[i]! - m) / s;
  }
  return out;
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32, src/util/random.ts). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
}

/** max |a - b| / max(|b|, tiny). */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0,
    scale = 1e-12;
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
  weights.forEach((w, i) => (max[i % cols] = Math.max(max[i % cols]!, Math.abs(w))));
  return weights.map((w, i) => {
    const s = Math.fround(max[i % cols]! / 127);
    return s === 0 ? 0 : Math.round(w / s) * s;
  });
}
