// Winograd F(2x2, 3x3), first kernel of a 3x3 stride-1 conv padded by 1 (src/kernels/winograd.ts, assembled in
// src/kernels/conv-winograd.ts): each
// 2x2 block of output pixels (a tile) reads a 4x4 window of the input (winograd_window.wgsl), and its
// transform V = B^T d B is written as 16 rows, one per transform point xi = 4 * row + column:
// output[xi * job.stride + job.at] (the GEMM of point xi then reads slice xi as its A).
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. One invocation per tile and 4 input channels
// (winograd_tiles.wgsl). Uses params, input (NHWC, vec4) and output (vec4) of conv_constants.wgsl.

fn transform(job: TileJob) {
  let y0 = i32(job.y) - 1;
  let x0 = i32(job.x) - 1;
  // t = B^T d: the window's rows combined, column by column
  var rows: array<array<vec4<f32>, 4>, 4>;
  for (var c = 0; c < 4; c++) {
    let d0 = pixel(job.n, y0, x0 + c, job.c4);
    let d1 = pixel(job.n, y0 + 1, x0 + c, job.c4);
    let d2 = pixel(job.n, y0 + 2, x0 + c, job.c4);
    let d3 = pixel(job.n, y0 + 3, x0 + c, job.c4);
    rows[0][c] = d0 - d2;
    rows[1][c] = d1 + d2;
    rows[2][c] = d2 - d1;
    rows[3][c] = d1 - d3;
  }
  // V = t B: each row's columns combined the same way
  for (var r = 0u; r < 4u; r++) {
    let t0 = rows[r][0];
    let t1 = rows[r][1];
    let t2 = rows[r][2];
    let t3 = rows[r][3];
    output[(4u * r) * job.stride + job.at] = t0 - t2;
    output[(4u * r + 1u) * job.stride + job.at] = t1 + t2;
    output[(4u * r + 2u) * job.stride + job.at] = t2 - t1;
    output[(4u * r + 3u) * job.stride + job.at] = t1 - t3;
  }
}
