// The interface of every conv kernel. src/ops/conv2d.ts builds each kernel from this file (first: it may
// hold the `enable` directive), a gather (conv_gather_*.wgsl: reads the A operand), a main loop
// (conv_gemm.wgsl, conv_simd.wgsl, or conv_splitk.wgsl for the split-K sum) and conv_epilogue.wgsl
// (writes the C operand). Those files use only the names declared here and the functions the others
// define. CONV_BINDINGS in src/ops/conv2d.ts is the same table:
//   0 params    the batch size
//   1 input     NHWC activations, IN_T elements (the split-K sum: the partial sums, vec4)
//   2 weights   packed the way the main loop reads them, W_T elements (absent in the split-K sum)
//   3 bias      per output channel, vec4 (absent when writing partial sums)
//   4 residual  NHWC, the output's shape, added before the ReLU (only with RESIDUAL)
//   5 output    NHWC, OUT_T elements (partial sums: vec4 rows z * M + m)
//   6 scale     int8 weights: per output channel, vec4, the factor of the sums (with bias; only SCALED)
#if ${SUBGROUPS}
enable subgroups;
#endif

struct Params { batch: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> input: array<${IN_T}>;
#if ${WEIGHTS}
@group(0) @binding(2) var<storage, read> weights: array<${W_T}>;
#endif
#if ${PARTIAL}
@group(0) @binding(5) var<storage, read_write> output: array<vec4<f32>>;
#else
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
#if ${SCALED}
@group(0) @binding(6) var<storage, read> scale: array<vec4<f32>>;
#endif
#if ${RESIDUAL}
@group(0) @binding(4) var<storage, read_write> residual: array<${OUT_T}>;
#endif
@group(0) @binding(5) var<storage, read_write> output: array<${OUT_T}>;
#endif

const K = ${K}u;         // GEMM depth: KH * KW * CIN
const NV = ${NV}u;       // output channels in vec4 groups: ceil(COUT / 4)
const COUT = ${COUT}u;   // output channels
const OHW = ${OHW}u;     // output pixels per image (M = params.batch * OHW)
