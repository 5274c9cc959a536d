// KxK convolution (3x3 in a ResNet) as an implicit GEMM: row m of A is the receptive field of output
// pixel m, k = (kh * KW + kw) * CIN + ci, gathered from NHWC input with zero padding. With CIN a
// multiple of 4, four consecutive k are one vec4 load. Followed by conv_gemm.wgsl.

#if ${VEC_A}
@group(0) @binding(1) var<storage, read_write> input: array<vec4<f32>>;
#else
@group(0) @binding(1) var<storage, read_write> input: array<f32>;
#endif

const CIN = ${CIN}u;
const KW = ${KW}u;
const IN_H = ${IN_H}u;
const IN_W = ${IN_W}u;
const OUT_W = ${OUT_W}u;
const STRIDE_H = ${STRIDE_H}u;
const STRIDE_W = ${STRIDE_W}u;
const PAD_T = ${PAD_T}u;
const PAD_L = ${PAD_L}u;

// Flat NHWC index of input element (m, k), or -1 where it falls in the padding.
fn inputIndex(m: u32, k: u32) -> i32 {
  let n = m / OHW;
  let r = m % OHW;
  let kh = k / (KW * CIN);
  let kr = k % (KW * CIN);
  let iy = i32((r / OUT_W) * STRIDE_H + kh) - i32(PAD_T);
  let ix = i32((r % OUT_W) * STRIDE_W + kr / CIN) - i32(PAD_L);
  if (iy < 0 || iy >= i32(IN_H) || ix < 0 || ix >= i32(IN_W)) {
    return -1;
  }
  return i32(((n * IN_H + u32(iy)) * IN_W + u32(ix)) * CIN + kr % CIN);
}

fn loadTileA(m0: u32, k0: u32, li: u32, M: u32) {
#if ${VEC_A}
  for (var i = li; i < BM * (BK / 4u); i += WG_SIZE) {
    let mm = i / (BK / 4u);
    let kq = i % (BK / 4u);
    let m = m0 + mm;
    let k = k0 + kq * 4u;
    var a = vec4<f32>(0.0);
    if (m < M && k < K) {
      let at = inputIndex(m, k);
      if (at >= 0) {
        a = input[u32(at) / 4u];
      }
    }
    tileA[kq * 4u][mm] = a.x;
    tileA[kq * 4u + 1u][mm] = a.y;
    tileA[kq * 4u + 2u][mm] = a.z;
    tileA[kq * 4u + 3u][mm] = a.w;
  }
#else
  for (var i = li; i < BM * BK; i += WG_SIZE) {
    let mm = i / BK;
    let kk = i % BK;
    let m = m0 + mm;
    let k = k0 + kk;
    var a = 0.0;
    if (m < M && k < K) {
      let at = inputIndex(m, k);
      if (at >= 0) {
        a = input[u32(at)];
      }
    }
    tileA[kk][mm] = a;
  }
#endif
}
