// Stem convolution for few input channels (7x7/2 over RGB in a ResNet). One row of the receptive field,
// KW pixels x CIN channels, is contiguous in NHWC, so k = kh * ROW + j reads input row iy at offset j
// from the window's left edge: no per-element division by CIN except for the padding test.
// Followed by conv_gemm.wgsl.

@group(0) @binding(1) var<storage, read_write> input: array<f32>;

const CIN = ${CIN}u;
const ROW = ${ROW}u;
const IN_H = ${IN_H}u;
const IN_W = ${IN_W}u;
const OUT_W = ${OUT_W}u;
const STRIDE_H = ${STRIDE_H}u;
const STRIDE_W = ${STRIDE_W}u;
const PAD_T = ${PAD_T}u;
const PAD_L = ${PAD_L}u;

fn loadTileA(m0: u32, k0: u32, li: u32, M: u32) {
  for (var i = li; i < BM * BK; i += WG_SIZE) {
    let mm = i / BK;
    let kk = i % BK;
    let m = m0 + mm;
    let k = k0 + kk;
    var a = 0.0;
    if (m < M && k < K) {
      let n = m / OHW;
      let r = m % OHW;
      let iy = i32((r / OUT_W) * STRIDE_H + k / ROW) - i32(PAD_T);
      let x0 = i32((r % OUT_W) * STRIDE_W) - i32(PAD_L);
      let j = k % ROW;
      let ix = x0 + i32(j / CIN);
      if (iy >= 0 && iy < i32(IN_H) && ix >= 0 && ix < i32(IN_W)) {
        a = input[u32(i32((n * IN_H + u32(iy)) * IN_W * CIN) + x0 * i32(CIN) + i32(j))];
      }
    }
    tileA[kk][mm] = a;
  }
}
