// A-operand gather of a pointwise (1x1, unpadded) conv: row m of A is the input pixel under output pixel
// m, its CIN channels contiguous in NHWC. Stride 1 reads the input as the matrix itself; stride S picks
// every S-th pixel. Each value passes through the conv's pre-activation. Uses `input` and OHW
// (conv_constants.wgsl), preact4 / preact1 (conv_preact.wgsl); defines pixelOf, readA and, with VEC_A
// (CIN a multiple of 4, `input` as vec4), readA4.

const CIN = ${CIN}u;
const IN_W = ${IN_W}u;
const IN_HW = ${IN_HW}u;
const OUT_W = ${OUT_W}u;
const STRIDE = ${STRIDE}u;

struct Pixel { base: u32 }

// Where output pixel m reads: the flat index of its input pixel's first channel.
fn pixelOf(m: u32) -> Pixel {
  if (STRIDE == 1u) {
    return Pixel(m * CIN);
  }
  let n = m / OHW;
  let r = m % OHW;
  return Pixel((n * IN_HW + (r / OUT_W) * STRIDE * IN_W + (r % OUT_W) * STRIDE) * CIN);
}

#if ${VEC_A}
// A[m, k..k+3], k a multiple of 4.
fn readA4(p: Pixel, k: u32) -> vec4<f32> {
  return preact4(input[(p.base + k) / 4u], k / 4u);
}

fn readA(p: Pixel, k: u32) -> f32 {
  return preact1(input[(p.base + k) / 4u][k % 4u], k);
}
#else
fn readA(p: Pixel, k: u32) -> f32 {
  return preact1(input[p.base + k], k);
}
#endif
