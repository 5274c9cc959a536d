// Winograd F(2x2, 3x3), last kernel (src/ops/winograd.ts, assembled in src/ops/conv2d.ts): the 16 GEMM results of a tile and 4
// output channels (input[(xi * M + m) * NV + n4], xi = 4 * row + column) transformed back to the tile's
// 2x2 output pixels, Y = A^T Mxi A with A^T = [1 1 1 0; 0 1 -1 -1], each written through the conv's
// epilogue (store of conv_epilogue.wgsl: bias, residual, ReLU); pixels past the image's edge (odd sizes)
// are not written. One invocation per tile and 4 output channels.

const OUT_H = ${OUT_H}u;
const OUT_W = ${OUT_W}u;
const TILES_W = ${TILES_W}u;
const TILES = ${TILES}u;
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let M = params.batch * TILES;
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= M * NV) {
    return;
  }
  let m = i / NV;
  let n4 = i % NV;
  // s = A^T Mxi: the 4 rows of points combined into 2, column by column
  var s: array<array<vec4<f32>, 4>, 2>;
  for (var c = 0u; c < 4u; c++) {
    let p0 = input[(c * M + m) * NV + n4];
    let p1 = input[((4u + c) * M + m) * NV + n4];
    let p2 = input[((8u + c) * M + m) * NV + n4];
    let p3 = input[((12u + c) * M + m) * NV + n4];
    s[0][c] = p0 + p1 + p2;
    s[1][c] = p1 - p2 - p3;
  }
  let n = m / TILES;
  let t = m % TILES;
  let oy = 2u * (t / TILES_W);
  let ox = 2u * (t % TILES_W);
  for (var r = 0u; r < 2u; r++) {
    if (oy + r < OUT_H) {
      let first = n * OHW + (oy + r) * OUT_W + ox;
      store(first, n4, s[r][0] + s[r][1] + s[r][2]);
      if (ox + 1u < OUT_W) {
        store(first + 1u, n4, s[r][1] - s[r][2] - s[r][3]);
      }
    }
  }
}
