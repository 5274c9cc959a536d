// 1x1 convolution as a GEMM: row m of A is the input pixel under output pixel m, its CIN channels
// contiguous in NHWC. Stride 1 reads the input as the matrix itself; stride S picks every S-th pixel.
// Followed by conv_gemm.wgsl (main loop + epilogue).

#if ${VEC_A}
@group(0) @binding(1) var<storage, read_write> input: array<vec4<f32>>;
#else
@group(0) @binding(1) var<storage, read_write> input: array<f32>;
#endif

const CIN = ${CIN}u;
const IN_W = ${IN_W}u;
const IN_HW = ${IN_HW}u;
const OUT_W = ${OUT_W}u;
const STRIDE = ${STRIDE}u;

// Index of the input pixel read by output pixel m.
fn pixel(m: u32) -> u32 {
  if (STRIDE == 1u) {
    return m;
  }
  let n = m / OHW;
  let r = m % OHW;
  return n * IN_HW + (r / OUT_W) * STRIDE * IN_W + (r % OUT_W) * STRIDE;
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
      a = input[(pixel(m) * CIN + k) / 4u];
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
      a = input[pixel(m) * CIN + k];
    }
    tileA[kk][mm] = a;
  }
#endif
}
