// Standalone residual add (+ ReLU) for plans where a conv epilogue cannot take the add:
// out = max(a + b, 0), elementwise, vec4 when the size allows. With GATE (a squeeze-and-excitation block)
// a is scaled by its channel's gate first: out = max(a * gate + b, 0), the gate [1, 1, C] per image.
// Bindings (declared from ADD_RELU_BINDINGS in src/kernels/add-relu.ts): params, a, b, output, gate (T elements).

const PER_IMAGE = ${PER_IMAGE}u; // elements of one image, in units of T
const CHANNELS = ${CHANNELS}u;   // channels, in units of T
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.batch * PER_IMAGE) {
    return;
  }
#if ${GATE}
  var v = a[i] * gate[(i / PER_IMAGE) * CHANNELS + i % CHANNELS] + b[i];
#else
  var v = a[i] + b[i];
#endif
#if ${RELU}
  v = max(v, ${T}(0.0));
#endif
  output[i] = v;
}
