// Class activation maps (Zhou et al., CVPR 2016) of a network that ends in a global average pool and one
// dense layer: for class c and position p of the tensor f the pool reads, M_c(p) = sum_k w[k][c] f(p, k),
// so that the mean of M_c over p, plus the bias b_c, is the logit of c. Every class at once (one 1x1
// product of f with the dense weights, read by weight4 of weights_vec4.wgsl in any storage; int8 sums
// times `scale`). Output per image: HW rows of NV vec4 (the maps, position-major, classes along the row),
// then one row holding the logits, copied, so that one readback has both.
// Bindings (declared from CAM_BINDINGS in src/kernels/class-activation-maps.ts): features (NHWC, vec4),
// weights ([C][NV] column layout, W_T), logits ([batch][CLASSES]), output ([batch][HW + 1][NV] vec4); scale (int8).

const HW = ${HW}u;
const C4 = ${C4}u;
const NV = ${NV}u;
const CLASSES = ${CLASSES}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = gid.x;
  let p = gid.y;
  let b = gid.z;
  if (n4 >= NV) {
    return;
  }
  let row = (b * (HW + 1u) + p) * NV + n4;
  if (p == HW) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      if (4u * n4 + j < CLASSES) {
        v[j] = logits[b * CLASSES + 4u * n4 + j];
      }
    }
    output[row] = v;
    return;
  }
  var acc = vec4<f32>(0.0);
  let f0 = (b * HW + p) * C4;
  for (var k4 = 0u; k4 < C4; k4++) {
    let f = features[f0 + k4];
    let k = 4u * k4;
    acc = fma(vec4<f32>(f.x), weight4(k * NV + n4), acc);
    acc = fma(vec4<f32>(f.y), weight4((k + 1u) * NV + n4), acc);
    acc = fma(vec4<f32>(f.z), weight4((k + 2u) * NV + n4), acc);
    acc = fma(vec4<f32>(f.w), weight4((k + 3u) * NV + n4), acc);
  }
#if ${SCALED}
  acc *= scale[n4];
#endif
  output[row] = acc;
}
