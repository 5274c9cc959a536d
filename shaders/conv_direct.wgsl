// Direct main loop for the conv kernels (for CPU adapters such as lavapipe and SwiftShader, which run
// invocations as SIMD lanes): one invocation per output pixel, NB4 vec4 output channels per workgroup.
// Every weight read is the same address for all lanes (a broadcast), the only per-lane reads are the
// pixel's own inputs, and control flow is uniform until the store. No workgroup memory, no barriers.
// Needs a gather file (conv1x1/3x3/7x7.wgsl) and conv_epilogue.wgsl.

const WG = ${WG}u;
const NB4 = ${NB4}u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let M = params.batch * OHW;
  let row = wid.x * WG + lid.x;
  let m = min(row, M - 1u); // lanes past the end repeat the last pixel and store nothing
  let n40 = wid.y * NB4;
  let p = pixelOf(m);
  var acc: array<vec4<f32>, NB4>;
#if ${VEC_A}
  for (var k = 0u; k < K; k += 4u) {
    let a = readA4(p, k);
    for (var j = 0u; j < 4u; j++) {
      let w = (k + j) * NV + n40;
      for (var v = 0u; v < NB4; v++) {
        acc[v] = fma(vec4<f32>(a[j]), weights[w + v], acc[v]);
      }
    }
  }
#else
  for (var k = 0u; k < K; k++) {
    let a = vec4<f32>(readA(p, k));
    let w = k * NV + n40;
    for (var v = 0u; v < NB4; v++) {
      acc[v] = fma(a, weights[w + v], acc[v]);
    }
  }
#endif
  if (row < M) {
    for (var v = 0u; v < NB4; v++) {
      if (n40 + v < NV) {
        store(m, n40 + v, acc[v]);
      }
    }
  }
}
