// Average pooling over NHWC, one invocation per output element (a vec4 of channels when C % 4 == 0), after
// pool_window.wgsl, as PyTorch's AvgPool2d computes it: the window clipped to the padded input is the
// divisor with COUNT_PAD (count_include_pad), else only the pixels inside the input are counted (the last
// windows of ceil_mode may reach past the padding: they are clipped the same way).

const PAD_B = ${PAD_B};
const PAD_R = ${PAD_R};

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.batch * OUT_H * OUT_W * C) {
    return;
  }
  let o = poolOut(i);
  // the window in input coordinates, clipped to the padded input, then to the input
  let y0 = i32(o.oy * STRIDE_H) - PAD_T;
  let x0 = i32(o.ox * STRIDE_W) - PAD_L;
  let y1 = min(y0 + i32(KH), i32(IN_H) + PAD_B);
  let x1 = min(x0 + i32(KW), i32(IN_W) + PAD_R);
  let ya = max(y0, 0);
  let xa = max(x0, 0);
  let yb = min(y1, i32(IN_H));
  let xb = min(x1, i32(IN_W));
  var sum = ${T}(0.0);
  for (var iy = ya; iy < yb; iy++) {
    for (var ix = xa; ix < xb; ix++) {
      sum += inputAt(o.n, iy, ix, o.c);
    }
  }
#if ${COUNT_PAD}
  output[i] = sum / f32((y1 - y0) * (x1 - x0));
#else
  output[i] = sum / f32((yb - ya) * (xb - xa));
#endif
}
