// Winograd F(4x4, 3x3), first kernel of a 3x3 stride-1 conv padded by 1 (src/kernels/winograd.ts, assembled in
// src/kernels/conv-winograd.ts): each
// 4x4 block of output pixels (a tile) reads a 6x6 window of the input (winograd_window.wgsl), and its
// transform V = B^T d B is written as 36 rows, one per transform point xi = 6 * row + column:
// output[xi * job.stride + job.at] (the GEMM of point xi then reads slice xi as its A).
// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
// One invocation per tile and 4 input channels (winograd_tiles.wgsl). Uses params, input (NHWC, vec4)
// and output (vec4) of conv_constants.wgsl.

// B^T d for one line of 6 values
fn transformLine(d: array<vec4<f32>, 6>) -> array<vec4<f32>, 6> {
  return array<vec4<f32>, 6>(
    4.0 * d[0] - 5.0 * d[2] + d[4],
    d[3] + d[4] - 4.0 * (d[1] + d[2]),
    4.0 * (d[1] - d[2]) - d[3] + d[4],
    2.0 * (d[3] - d[1]) - d[2] + d[4],
    2.0 * (d[1] - d[3]) - d[2] + d[4],
    4.0 * d[1] - 5.0 * d[3] + d[5],
  );
}

fn transform(job: TileJob) {
  let y0 = i32(job.y) - 1;
  let x0 = i32(job.x) - 1;
  // B^T d: the window's columns transformed, kept as rows
  var rows: array<array<vec4<f32>, 6>, 6>;
  for (var c = 0; c < 6; c++) {
    var line: array<vec4<f32>, 6>;
    for (var r = 0; r < 6; r++) {
      line[r] = pixel(job.n, y0 + r, x0 + c, job.c4);
    }
    let v = transformLine(line);
    for (var r = 0; r < 6; r++) {
      rows[r][c] = v[r];
    }
  }
  // V = (B^T d) B: each row transformed the same way
  for (var r = 0u; r < 6u; r++) {
    let v = transformLine(rows[r]);
    for (var c = 0u; c < 6u; c++) {
      output[(6u * r + c) * job.stride + job.at] = v[c];
    }
  }
}
