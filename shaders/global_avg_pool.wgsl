// Global average pooling: NHWC [N, H, W, C] -> [N, C], one invocation per (image, channel group).
// Bindings (declared from POOL_BINDINGS in src/kernels/pool.ts): params, input, output (T elements).

const C = ${CV}u; // channels, in units of T
const HW = ${HW}u;
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.batch * C) {
    return;
  }
  let n = i / C;
  let c = i % C;
  var sum = ${T}(0.0);
  for (var p = 0u; p < HW; p++) {
    sum += input[(n * HW + p) * C + c];
  }
  output[i] = sum / f32(HW);
}
