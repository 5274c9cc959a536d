/**
 * Winograd F(mxm, 3x3) (Lavin and Gray, 2015) for 3x3 stride-1 convs padded by 1, m = 2 or 4: a tile of
 * m x m output pixels is Y = A^T [ U (.) V ] A, with V = B^T d B the tile's (m+2)x(m+2) input window
 * transformed (shaders/winograd_input.wgsl, winograd4_input.wgsl), U = G g G^T each 3x3 filter
 * transformed once here, at load, and the (m+2)^2 element-wise products summed over input channels as
 * (m+2)^2 GEMMs (the main loop, one slice per transform point), then transformed back
 * (shaders/winograd_output.wgsl, winograd4_output.wgsl). Multiplies per output pixel: 9 direct, 4 with
 * F(2x2, 3x3) (16 per 2x2), 2.25 with F(4x4, 3x3) (36 per 4x4; its points 0, +-1, +-2 and infinity).
 */
import type { Pads, Shape } from '../ir/tensor.js';

/** The output tile's side: F(2x2, 3x3) or F(4x4, 3x3). */
export type WinogradTile = 2 | 4;

/** G (m+2 rows, 3 columns) of F(mxm, 3x3): U = G g G^T. */
const G: Record<WinogradTile, readonly (readonly [number, number, number])[]> = {
  2: [
    [1, 0, 0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0, 0, 1],
  ],
  4: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
};

/** Transform points of F(mxm, 3x3): (m+2)^2, one GEMM each. */
export const winogradPoints = (m: WinogradTile): number => (m + 2) ** 2;

/** Whether Winograd computes `node`: a 3x3 kernel, stride 1, padded by 1 on every side, input channels a multiple of 4
 * (vec4 reads). */
export function winogradFits(
  node: { kernel: [number, number]; strides: [number, number]; pads: Pads },
  inShape: Shape,
): boolean {
  return (
    node.kernel[0] === 3 &&
    node.kernel[1] === 3 &&
    node.strides[0] === 1 &&
    node.strides[1] === 1 &&
    node.pads.every((p) => p === 1) &&
    inShape[2] % 4 === 0
  );
}

/** Tiles of m x m output pixels: rows, columns. */
export const winogradTiles = (outShape: Shape, m: WinogradTile = 2): [number, number] => [
  Math.ceil(outShape[0] / m),
  Math.ceil(outShape[1] / m),
];

/** Tiles of m x m output pixels in one image. */
export const winogradTileCount = (outShape: Shape, m: WinogradTile): number =>
  winogradTiles(outShape, m)[0] * winogradTiles(outShape, m)[1];

/**
 * The transformed filters: (m+2)^2 matrices [cin][cout] (transform point xi = (m+2) a + b:
 * U[a][b] = (G g G^T)[a][b] for each pair of channels), from HWIO weights [3][3][cin][cout], in float64.
 */
export function winogradWeights(weights: Float32Array, cin: number, cout: number, m: WinogradTile = 2): Float32Array[] {
  const rows = G[m];
  const alpha = rows.length;
  const u = Array.from({ length: alpha * alpha }, () => new Float32Array(cin * cout));
  const plane = cin * cout;
  const gg = new Float64Array(alpha * 3); // (G g)[a][j] of one pair of channels
  for (let o = 0; o < plane; o++) {
    const g00 = weights[o]!,
      g01 = weights[plane + o]!,
      g02 = weights[2 * plane + o]!;
    const g10 = weights[3 * plane + o]!,
      g11 = weights[4 * plane + o]!,
      g12 = weights[5 * plane + o]!;
    const g20 = weights[6 * plane + o]!,
      g21 = weights[7 * plane + o]!,
      g22 = weights[8 * plane + o]!;
    for (let a = 0; a < alpha; a++) {
      const [ga0, ga1, ga2] = rows[a]!;
      gg[3 * a] = ga0 * g00 + ga1 * g10 + ga2 * g20;
      gg[3 * a + 1] = ga0 * g01 + ga1 * g11 + ga2 * g21;
      gg[3 * a + 2] = ga0 * g02 + ga1 * g12 + ga2 * g22;
    }
    // then times G^T
    for (let a = 0; a < alpha; a++) {
      const r0 = gg[3 * a]!,
        r1 = gg[3 * a + 1]!,
        r2 = gg[3 * a + 2]!;
      for (let b = 0; b < alpha; b++) {
        const [gb0, gb1, gb2] = rows[b]!;
        u[alpha * a + b]![o] = r0 * gb0 + r1 * gb1 + r2 * gb2;
      }
    }
  }
  return u;
}
