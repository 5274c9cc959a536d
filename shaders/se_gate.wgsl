// A squeeze-and-excitation gate from its input's channel means (global_avg_pool.wgsl wrote them):
// gate = sigmoid(fc2(relu(fc1(mean)))), [1, 1, C] per image. One workgroup per image: its invocations
// compute the RD hidden values into workgroup memory, then the C gates. Weights: fc1 [C][RD] then fc2
// [RD][C] in one array; biases: fc1's RD then fc2's C.
// Bindings (declared from SE_GATE_BINDINGS in src/kernels/squeeze-excite.ts): mean, weights, bias, output.

const C = ${C}u;
const RD = ${RD}u;
const WG = ${WG}u;

var<workgroup> hidden: array<f32, RD>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = wid.x;
  for (var j = lid.x; j < RD; j += WG) {
    var s = bias[j];
    for (var c = 0u; c < C; c++) {
      s += mean[n * C + c] * weights[c * RD + j];
    }
    hidden[j] = max(s, 0.0);
  }
  workgroupBarrier();
  for (var c = lid.x; c < C; c += WG) {
    var s = bias[RD + c];
    for (var j = 0u; j < RD; j++) {
      s += hidden[j] * weights[C * RD + j * C + c];
    }
    output[n * C + c] = 1.0 / (1.0 + exp(-s));
  }
}
