// Average pooling over NHWC, one invocation per output element (a vec4 of channels when C % 4 == 0), as
// PyTorch's AvgPool2d computes it: the window clipped to the padded input is the divisor with
// COUNT_PAD (count_include_pad), else only the pixels inside the input are counted (the last windows of
// ceil_mode may reach past the padding: they are clipped the same way).
// Bindings (declared from POOL_BINDINGS in src/kernels/pool.ts): params, input, output (T elements).

const C = ${CV}u; // channels, in units of T
const IN_H = ${IN_H}u;
const IN_W = ${IN_W}u;
const OUT_H = ${OUT_H}u;
const OUT_W = ${OUT_W}u;
const KH = ${KH}u;
const KW = ${KW}u;
const STRIDE_H = ${STRIDE_H}u;
const STRIDE_W = ${STRIDE_W}u;
const PAD_T = ${PAD_T};
const PAD_L = ${PAD_L};
const PAD_B = ${PAD_B};
const PAD_R = ${PAD_R};
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.batch * OUT_H * OUT_W * C) {
    return;
  }
  let c = i % C;
  let p = i / C;
  let ox = p % OUT_W;
  let oy = (p / OUT_W) % OUT_H;
  let n = p / (OUT_W * OUT_H);
  // the window in input coordinates, clipped to the padded input, then to the input
  let y0 = i32(oy * STRIDE_H) - PAD_T;
  let x0 = i32(ox * STRIDE_W) - PAD_L;
  let y1 = min(y0 + i32(KH), i32(IN_H) + PAD_B);
  let x1 = min(x0 + i32(KW), i32(IN_W) + PAD_R);
  let padded = (y1 - y0) * (x1 - x0);
  let ya = max(y0, 0);
  let xa = max(x0, 0);
  let yb = min(y1, i32(IN_H));
  let xb = min(x1, i32(IN_W));
  var sum = ${T}(0.0);
  for (var iy = ya; iy < yb; iy++) {
    for (var ix = xa; ix < xb; ix++) {
      sum += input[((n * IN_H + u32(iy)) * IN_W + u32(ix)) * C + c];
    }
  }
#if ${COUNT_PAD}
  output[i] = sum / f32(padded);
#else
  output[i] = sum / f32((yb - ya) * (xb - xa));
#endif
}
