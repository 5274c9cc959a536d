// The constants of every conv kernel. src/kernels/conv.ts and conv-winograd.ts build each kernel from its
// bindings (declared from the table CONV_BINDINGS in src/kernels/conv-parts.ts, with this kernel's element types),
// this file, a gather
// (conv_gather_*.wgsl: reads the A operand), a main loop (conv_gemm.wgsl, conv_simd.wgsl, or
// conv_splitk.wgsl for the split-K sum) and conv_epilogue.wgsl (writes the C operand). Those files use
// only the names declared here and in the table, and the functions the others define:
//   params    the batch size
//   input     NHWC activations (the split-K sum: the partial sums, vec4)
//   weights   packed the way the main loop reads them (absent in the split-K sum)
//   bias      per output channel, vec4 (absent when writing partial sums)
//   residual  NHWC, the output's shape, added before the ReLU (only with RESIDUAL)
//   output    NHWC (partial sums: vec4 rows z * M + m)
//   scale     int8 weights: per output channel, vec4, the factor of the sums (with bias; only SCALED)

const K = ${K}u;         // GEMM depth: KH * KW * CIN
const NV = ${NV}u;       // output channels in vec4 groups: ceil(COUT / 4)
const COUT = ${COUT}u;   // output channels
const OHW = ${OHW}u;     // output pixels per image (M = params.batch * OHW)
