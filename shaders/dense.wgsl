// Fully connected layer y = x W + b (+ ReLU), W packed [IN][NV] as vec4 along the outputs, in any storage
// (weight4, weights_vec4.wgsl, joined after this file); int8 sums are multiplied by `scale` per output.
// One workgroup per (image, 4 outputs): its invocations split the IN inputs, then reduce in workgroup memory.
// Bindings (declared from DENSE_BINDINGS in src/kernels/dense.ts): input, weights (W_T), bias, output; scale (int8).

const IN = ${IN}u;
const OUT = ${OUT}u;
const NV = ${NV}u;
const WG = 64u;

var<workgroup> partial: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let n4 = wid.x;
  let n = wid.y;
  var sum = vec4<f32>(0.0);
  for (var k = li; k < IN; k += WG) {
    sum = fma(vec4<f32>(input[n * IN + k]), weight4(k * NV + n4), sum);
  }
  partial[li] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      partial[li] += partial[li + s];
    }
    workgroupBarrier();
  }
  if (li < 4u) {
    let c = n4 * 4u + li;
    if (c < OUT) {
#if ${SCALED}
      var v = partial[0][li] * scale[n4][li] + bias[n4][li];
#else
      var v = partial[0][li] + bias[n4][li];
#endif
#if ${RELU}
      v = max(v, 0.0);
#endif
      output[n * OUT + c] = v;
    }
  }
}
