// Second kernel of a split-K conv: sums the SPLIT partial results of conv_gemm.wgsl (vec4 rows z * M + m
// of `input`, binding 1 of CONV_BINDINGS, conv_constants.wgsl) and applies the conv's epilogue (bias, residual, ReLU)
// through store() of conv_epilogue.wgsl. One invocation per output vec4.

const SPLIT = ${SPLIT}u;
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let count = params.batch * OHW * NV;
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= count) {
    return;
  }
  var sum = input[i];
  for (var z = 1u; z < SPLIT; z++) {
    sum += input[z * count + i];
  }
  store(i / NV, i % NV, sum);
}
