// Winograd F(4x4, 3x3), last kernel (src/kernels/winograd.ts, assembled in src/kernels/conv-winograd.ts): the 36 GEMM
// results of a tile and 4
// output channels (input[xi * job.stride + job.at], xi = 6 * row + column) transformed back to the
// tile's 4x4 output pixels, Y = A^T Mxi A with A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0;
// 0 1 -1 8 -8 1], each written through the conv's epilogue (store of conv_epilogue.wgsl: bias, residual,
// ReLU); pixels past the image's edge are not written. One invocation per tile and 4 output channels
// (winograd_tiles.wgsl).

const OUT_H = ${OUT_H}u;
const OUT_W = ${OUT_W}u;

// A^T p for one line of 6 values
fn transformLine(p: array<vec4<f32>, 6>) -> array<vec4<f32>, 4> {
  let a = p[1] + p[2];
  let b = p[1] - p[2];
  let c = p[3] + p[4];
  let d = p[3] - p[4];
  return array<vec4<f32>, 4>(p[0] + a + c, b + 2.0 * d, a + 4.0 * c, b + 8.0 * d + p[5]);
}

fn transform(job: TileJob) {
  // s = A^T Mxi: the 6 rows of points combined into 4, column by column
  var s: array<array<vec4<f32>, 6>, 4>;
  for (var c = 0u; c < 6u; c++) {
    var line: array<vec4<f32>, 6>;
    for (var r = 0u; r < 6u; r++) {
      line[r] = input[(6u * r + c) * job.stride + job.at];
    }
    let v = transformLine(line);
    for (var r = 0u; r < 4u; r++) {
      s[r][c] = v[r];
    }
  }
  for (var r = 0u; r < 4u; r++) {
    if (job.y + r < OUT_H) {
      let y = transformLine(s[r]);
      let first = job.n * OHW + (job.y + r) * OUT_W + job.x;
      for (var c = 0u; c < 4u; c++) {
        if (job.x + c < OUT_W) {
          store(first + c, job.c4, y[c]);
        }
      }
    }
  }
}
