// Max pooling over NHWC, one invocation per output element (a vec4 of channels when C % 4 == 0), after
// pool_window.wgsl. Padded positions hold 0 (PAD_ZERO: Keras ZeroPadding2D folded in) or are skipped (-inf).

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.batch * OUT_H * OUT_W * C) {
    return;
  }
  let o = poolOut(i);
  var best = ${T}(-3.0e38);
  var padded = false;
  for (var ky = 0u; ky < KH; ky++) {
    let iy = i32(o.oy * STRIDE_H + ky) - PAD_T;
    for (var kx = 0u; kx < KW; kx++) {
      let ix = i32(o.ox * STRIDE_W + kx) - PAD_L;
      if (iy < 0 || iy >= i32(IN_H) || ix < 0 || ix >= i32(IN_W)) {
        padded = true;
      } else {
        best = max(best, inputAt(o.n, iy, ix, o.c));
      }
    }
  }
#if ${PAD_ZERO}
  if (padded) {
    best = max(best, ${T}(0.0));
  }
#endif
  output[i] = best;
}
