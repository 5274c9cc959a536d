// Winograd F(4x4, 3x3), last kernel (src/ops/winograd.ts, assembled in src/ops/conv2d.ts): the 36 GEMM results of a tile and 4
// output channels (input[(xi * M + m) * NV + n4], xi = 6 * row + column) transformed back to the tile's
// 4x4 output pixels, Y = A^T Mxi A with A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1],
// each written through the conv's epilogue (store of conv_epilogue.wgsl: bias, residual, ReLU); pixels
// past the image's edge are not written. One invocation per tile and 4 output channels.

const OUT_H = ${OUT_H}u;
const OUT_W = ${OUT_W}u;
const TILES_W = ${TILES_W}u;
const TILES = ${TILES}u;
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

// A^T p for one line of 6 values
fn transformLine(p: array<vec4<f32>, 6>) -> array<vec4<f32>, 4> {
  let a = p[1] + p[2];
  let b = p[1] - p[2];
  let c = p[3] + p[4];
  let d = p[3] - p[4];
  return array<vec4<f32>, 4>(p[0] + a + c, b + 2.0 * d, a + 4.0 * c, b + 8.0 * d + p[5]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let M = params.batch * TILES;
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= M * NV) {
    return;
  }
  let m = i / NV;
  let n4 = i % NV;
  // s = A^T Mxi: the 6 rows of points combined into 4, column by column
  var s: array<array<vec4<f32>, 6>, 4>;
  for (var c = 0u; c < 6u; c++) {
    var line: array<vec4<f32>, 6>;
    for (var r = 0u; r < 6u; r++) {
      line[r] = input[((6u * r + c) * M + m) * NV + n4];
    }
    let v = transformLine(line);
    for (var r = 0u; r < 4u; r++) {
      s[r][c] = v[r];
    }
  }
  let n = m / TILES;
  let t = m % TILES;
  let oy = 4u * (t / TILES_W);
  let ox = 4u * (t % TILES_W);
  for (var r = 0u; r < 4u; r++) {
    if (oy + r < OUT_H) {
      let y = transformLine(s[r]);
      let first = n * OHW + (oy + r) * OUT_W + ox;
      for (var c = 0u; c < 4u; c++) {
        if (ox + c < OUT_W) {
          store(first + c, n4, y[c]);
        }
      }
    }
  }
}
