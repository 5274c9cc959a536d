/**
 * Winograd F(mxm, 3x3) (Lavin and Gray, 2015) for 3x3 stride-1 convs padded by 1, m = 2 or 4: a tile of
 * m x m output pixels is Y = A^T [ U (.) V ] A, with V = B^T d B the tile's (m+2)x(m+2) input window
 * transformed (shaders/winograd_input.wgsl, winograd4_input.wgsl), U = G g G^T each 3x3 filter
 * transformed once here, at load, and the (m+2)^2 element-wise products summed over input channels as
 * (m+2)^2 GEMMs (the main loop, one slice per transform point), then transformed back
 * (shaders/winograd_output.wgsl, winograd4_output.wgsl). Multiplies per output pixel: 9 direct, 4 with
 * F(2x2, 3x3) (16 per 2x2), 2.25 with F(4x4, 3x3) (36 per 4x4; its points 0, +-1, +-2 and infinity).
 */
import type { Conv2dNode, Shape } from '../graph/ir.js';

/** The output tile's side: F(2x2, 3x3) or F(4x4, 3x3). */
export type WinogradTile = 2 | 4;

/** G (m+2 rows, 3 columns) of F(mxm, 3x3): U = G g G^T. */
const G: Record<WinogradTile, readonly (readonly [number, number, number])[]> = {
  2: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  4: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
};

/** Transform points of F(mxm, 3x3): (m+2)^2, one GEMM each. */
export const winogradPoints = (m: WinogradTile): number => (m + 2) ** 2;

/** Whether Winograd computes `node`: a 3x3 kernel, stride 1, padded by 1 on every side, input channels a multiple of 4 (vec4 reads). */
export function winogradFits(node: Pick<Conv2dNode, 'kernel' | 'strides' | 'pads'>, inShape: Shape): boolean {
  return node.kernel[0] === 3 && node.kernel[1] === 3 && node.strides[0] === 1 && node.strides[1] === 1 && node.pads.every((p) => p === 1) && inShape[2] % 4 === 0;
}

/** Tiles of m x m output pixels: rows, columns. */
export const winogradTiles = (outShape: Shape, m: WinogradTile = 2): [number, number] => [Math.ceil(outShape[0] / m), Math.ceil(outShape[1] / m)];

/**
 * The transformed filters: (m+2)^2 matrices [cin][cout] (transform point xi = (m+2) a + b:
 * U[a][b] = (G g G^T)[a][b] for each pair of channels), from HWIO weights [3][3][cin][cout], in float64.
 */
export function winogradWeights(weights: Float32Array, cin: number, cout: number, m: WinogradTile = 2): Float32Array[] {
  const rows = G[m];
  const u = Array.from({ length: winogradPoints(m) }, () => new Float32Array(cin * cout));
  const g = (i: number, j: number, o: number) => weights[(i * 3 + j) * cin * cout + o]!;
  for (let o = 0; o < cin * cout; o++) {
    for (const [a, [ga0, ga1, ga2]] of rows.entries()) {
      // (G g)[a][j], then times G^T
      const [r0, r1, r2] = [0, 1, 2].map((j) => ga0 * g(0, j, o) + ga1 * g(1, j, o) + ga2 * g(2, j, o)) as [number, number, number];
      for (const [b, [gb0, gb1, gb2]] of rows.entries()) u[rows.length * a + b]![o] = r0 * gb0 + r1 * gb1 + r2 * gb2;
    }
  }
  return u;
}
