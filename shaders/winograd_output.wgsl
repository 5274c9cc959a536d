// Winograd F(2x2, 3x3), last kernel (src/kernels/winograd.ts, assembled in src/kernels/conv-winograd.ts): the 16 GEMM
// results of a tile and 4
// output channels (input[xi * job.stride + job.at], xi = 4 * row + column) transformed back to the
// tile's 2x2 output pixels, Y = A^T Mxi A with A^T = [1 1 1 0; 0 1 -1 -1], each written through the conv's
// epilogue (store of conv_epilogue.wgsl: bias, residual, ReLU); pixels past the image's edge (odd sizes)
// are not written. One invocation per tile and 4 output channels (winograd_tiles.wgsl).

const OUT_H = ${OUT_H}u;
const OUT_W = ${OUT_W}u;

fn transform(job: TileJob) {
  // s = A^T Mxi: the 4 rows of points combined into 2, column by column
  var s: array<array<vec4<f32>, 4>, 2>;
  for (var c = 0u; c < 4u; c++) {
    let p0 = input[c * job.stride + job.at];
    let p1 = input[(4u + c) * job.stride + job.at];
    let p2 = input[(8u + c) * job.stride + job.at];
    let p3 = input[(12u + c) * job.stride + job.at];
    s[0][c] = p0 + p1 + p2;
    s[1][c] = p1 - p2 - p3;
  }
  for (var r = 0u; r < 2u; r++) {
    if (job.y + r < OUT_H) {
      let first = job.n * OHW + (job.y + r) * OUT_W + job.x;
      store(first, job.c4, s[r][0] + s[r][1] + s[r][2]);
      if (job.x + 1u < OUT_W) {
        store(first + 1u, job.c4, s[r][1] - s[r][2] - s[r][3]);
      }
    }
  }
}
