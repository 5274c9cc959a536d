// Winograd F(2x2, 3x3), first kernel of a 3x3 stride-1 conv padded by 1 (src/ops/winograd.ts, assembled in src/ops/conv2d.ts): each
// 2x2 block of output pixels (a tile) reads a 4x4 window of the input (zeros outside the image), and its
// transform V = B^T d B is written as 16 rows, one per transform point xi = 4 * row + column:
// output[(xi * M + m) * CIN4 + c4], M = batch * TILES (the GEMM of point xi then reads slice xi as its A).
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. One invocation per tile and 4 input channels.
// Uses params, input (NHWC, vec4) and output (vec4) of conv_constants.wgsl.

const IN_H = ${IN_H}u;
const IN_W = ${IN_W}u;
const CIN4 = ${CIN4}u;
const TILES_W = ${TILES_W}u;
const TILES = ${TILES}u; // tiles per image: ceil(OUT_H / 2) * ceil(OUT_W / 2)
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

fn pixel(n: u32, y: i32, x: i32, c4: u32) -> vec4<f32> {
  if (y < 0 || x < 0 || y >= i32(IN_H) || x >= i32(IN_W)) {
    return vec4<f32>(0.0);
  }
  return input[((n * IN_H + u32(y)) * IN_W + u32(x)) * CIN4 + c4];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let M = params.batch * TILES;
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= M * CIN4) {
    return;
  }
  let m = i / CIN4;
  let c4 = i % CIN4;
  let n = m / TILES;
  let t = m % TILES;
  let y0 = 2 * i32(t / TILES_W) - 1;
  let x0 = 2 * i32(t % TILES_W) - 1;
  // t = B^T d: the window's rows combined, column by column
  var rows: array<array<vec4<f32>, 4>, 4>;
  for (var c = 0; c < 4; c++) {
    let d0 = pixel(n, y0, x0 + c, c4);
    let d1 = pixel(n, y0 + 1, x0 + c, c4);
    let d2 = pixel(n, y0 + 2, x0 + c, c4);
    let d3 = pixel(n, y0 + 3, x0 + c, c4);
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
    output[((4u * r) * M + m) * CIN4 + c4] = t0 - t2;
    output[((4u * r + 1u) * M + m) * CIN4 + c4] = t1 + t2;
    output[((4u * r + 2u) * M + m) * CIN4 + c4] = t2 - t1;
    output[((4u * r + 3u) * M + m) * CIN4 + c4] = t1 - t3;
  }
}
