// Second half of a split-K conv: sums the SPLIT partial results of conv_gemm.wgsl (rows z * M + m of
// `partial`, vec4 columns) and applies the conv's epilogue (bias, residual, ReLU) through the store() of
// conv_epilogue.wgsl. One invocation per output vec4.

@group(0) @binding(1) var<storage, read_write> partial: array<vec4<f32>>;

const SPLIT = ${SPLIT}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let count = params.batch * OHW * NV;
  let i = gid.x + gid.y * groups.x * 64u;
  if (i >= count) {
    return;
  }
  var sum = partial[i];
  for (var z = 1u; z < SPLIT; z++) {
    sum += partial[z * count + i];
  }
  store(i / NV, i % NV, sum);
}
