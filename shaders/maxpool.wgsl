// Max pooling over NHWC, one invocation per output element (a vec4 of channels when C % 4 == 0).
// Padded positions hold 0 (PAD_ZERO: Keras ZeroPadding2D folded in) or are skipped (-inf).
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
const PAD_T = ${PAD_T}u;
const PAD_L = ${PAD_L}u;
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
  var best = ${T}(-3.0e38);
  var padded = false;
  for (var ky = 0u; ky < KH; ky++) {
    let iy = i32(oy * STRIDE_H + ky) - i32(PAD_T);
    for (var kx = 0u; kx < KW; kx++) {
      let ix = i32(ox * STRIDE_W + kx) - i32(PAD_L);
      if (iy < 0 || iy >= i32(IN_H) || ix < 0 || ix >= i32(IN_W)) {
        padded = true;
      } else {
        best = max(best, input[((n * IN_H + u32(iy)) * IN_W + u32(ix)) * C + c]);
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
