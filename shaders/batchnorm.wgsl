// A BatchNormalization no conv before it could take (a pre-activation ResNet's, after the residual sum):
// out = x * scale[c] + shift[c] per channel (scale and shift folded from gamma, beta, mean, variance and
// epsilon on the CPU, in float64), then the optional ReLU; elementwise, vec4 when the channels allow.
// Bindings (declared from BATCHNORM_BINDINGS in src/kernels/batchnorm.ts): params, input, scale, shift,
// output (T elements).

const PER_IMAGE = ${PER_IMAGE}u; // elements of one image, in units of T
const CHANNELS = ${CHANNELS}u;   // channels, in units of T
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.batch * PER_IMAGE) {
    return;
  }
  let c = i % CHANNELS;
  var v = input[i] * scale[c] + shift[c];
#if ${RELU}
  v = max(v, ${T}(0.0));
#endif
  output[i] = v;
}
