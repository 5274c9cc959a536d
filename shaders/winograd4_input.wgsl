// Winograd F(4x4, 3x3), first kernel of a 3x3 stride-1 conv padded by 1 (src/ops/winograd.ts, assembled in src/ops/conv2d.ts): each
// 4x4 block of output pixels (a tile) reads a 6x6 window of the input (zeros outside the image), and its
// transform V = B^T d B is written as 36 rows, one per transform point xi = 6 * row + column:
// output[(xi * M + m) * CIN4 + c4], M = batch * TILES (the GEMM of point xi then reads slice xi as its A).
// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
// One invocation per tile and 4 input channels. Uses params, input (NHWC, vec4) and output (vec4) of conv_constants.wgsl.

const IN_H = ${IN_H}u;
const IN_W = ${IN_W}u;
const CIN4 = ${CIN4}u;
const TILES_W = ${TILES_W}u;
const TILES = ${TILES}u; // tiles per image: ceil(OUT_H / 4) * ceil(OUT_W / 4)
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

fn pixel(n: u32, y: i32, x: i32, c4: u32) -> vec4<f32> {
  if (y < 0 || x < 0 || y >= i32(IN_H) || x >= i32(IN_W)) {
    return vec4<f32>(0.0);
  }
  return input[((n * IN_H + u32(y)) * IN_W + u32(x)) * CIN4 + c4];
}

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
  let y0 = 4 * i32(t / TILES_W) - 1;
  let x0 = 4 * i32(t % TILES_W) - 1;
  // B^T d: the window's columns transformed, kept as rows
  var rows: array<array<vec4<f32>, 6>, 6>;
  for (var c = 0; c < 6; c++) {
    var line: array<vec4<f32>, 6>;
    for (var r = 0; r < 6; r++) {
      line[r] = pixel(n, y0 + r, x0 + c, c4);
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
      output[((6u * r + c) * M + m) * CIN4 + c4] = v[c];
    }
  }
}
