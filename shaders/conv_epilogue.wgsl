// Output side shared by the conv main loops (conv_gemm.wgsl, conv_simd.wgsl) and the split-K sum
// (conv_splitk.wgsl): bias, then the optional residual add, then the optional ReLU, written once to the
// NHWC output. In PARTIAL mode (a split-K conv) it writes the raw sums instead, as vec4 rows
// split * M + m of the partial-sum tensor, and the epilogue runs in conv_splitk.wgsl.
// (Each main loop declares the weights, binding 2, in the layout it reads best.)

struct Params { batch: u32 }
@group(0) @binding(0) var<uniform> params: Params;
#if ${PARTIAL}
@group(0) @binding(5) var<storage, read_write> output: array<vec4<f32>>;
#else
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
#if ${RESIDUAL}
@group(0) @binding(4) var<storage, read_write> residual: array<${OUT_T}>;
#endif
@group(0) @binding(5) var<storage, read_write> output: array<${OUT_T}>;
#endif

const K = ${K}u;
const NV = ${NV}u;
const COUT = ${COUT}u;
const OHW = ${OHW}u;

// Writes output channels 4 * n4 .. 4 * n4 + 3 of output pixel m.
fn store(m: u32, n4: u32, acc: vec4<f32>) {
#if ${PARTIAL}
  output[m * NV + n4] = acc;
#else
  var v = acc + bias[n4];
#if ${VEC_OUT}
  let o = m * NV + n4;
#if ${RESIDUAL}
  v += residual[o];
#endif
#if ${RELU}
  v = max(v, vec4<f32>(0.0));
#endif
  output[o] = v;
#else
  for (var j = 0u; j < 4u; j++) {
    let c = n4 * 4u + j;
    if (c < COUT) {
      let o = m * COUT + c;
      var s = v[j];
#if ${RESIDUAL}
      s += residual[o];
#endif
#if ${RELU}
      s = max(s, 0.0);
#endif
      output[o] = s;
    }
  }
#endif
#endif
}
