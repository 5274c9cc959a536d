// Tiled implicit-GEMM main loop for the conv kernels (for GPUs): C[M, N] = A[M, K] * B[K, N] with
// M = batch * OH * OW output pixels, N = output channels, K = KH * KW * CIN. Each workgroup stages a
// BM x BK tile of A (gathered by the conv file's readA/readA4) and a BK x BN tile of B in workgroup
// memory; each invocation accumulates RM rows x VN vec4 columns, interleaved so loads and stores stay
// coalesced. Needs a gather file (conv1x1/3x3/7x7.wgsl) and conv_epilogue.wgsl.

// HWIO weights as [K][NV] vec4 (NV = ceil(COUT / 4), zero padded).
@group(0) @binding(2) var<storage, read> weights: array<vec4<f32>>;

const BM = ${BM}u;
const BN4 = ${BN4}u;
const BK = ${BK}u;
const WG_M = ${WG_M}u;
const WG_N = ${WG_N}u;
const RM = ${RM}u;
const VN = ${VN}u;
const WG_SIZE = WG_M * WG_N;

var<workgroup> tileA: array<array<f32, BM>, BK>; // [k][m]
var<workgroup> tileB: array<array<vec4<f32>, BN4>, BK>;

fn loadTileA(m0: u32, k0: u32, li: u32, M: u32) {
#if ${VEC_A}
  for (var i = li; i < BM * (BK / 4u); i += WG_SIZE) {
    let mm = i / (BK / 4u);
    let kq = i % (BK / 4u);
    let m = m0 + mm;
    let k = k0 + kq * 4u;
    var a = vec4<f32>(0.0);
    if (m < M && k < K) {
      a = readA4(pixelOf(m), k);
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
      a = readA(pixelOf(m), k);
    }
    tileA[kk][mm] = a;
  }
#endif
}

fn loadTileB(n40: u32, k0: u32, li: u32) {
  for (var i = li; i < BK * BN4; i += WG_SIZE) {
    let kk = i / BN4;
    let c = i % BN4;
    let k = k0 + kk;
    let n4 = n40 + c;
    var b = vec4<f32>(0.0);
    if (k < K && n4 < NV) {
      b = weights[k * NV + n4];
    }
    tileB[kk][c] = b;
  }
}

@compute @workgroup_size(WG_N, WG_M)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let M = params.batch * OHW;
  let m0 = wid.y * BM;
  let n40 = wid.x * BN4;
  var acc: array<array<vec4<f32>, VN>, RM>;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    loadTileA(m0, k0, li, M);
    loadTileB(n40, k0, li);
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var b: array<vec4<f32>, VN>;
      for (var v = 0u; v < VN; v++) {
        b[v] = tileB[kk][lid.x + v * WG_N];
      }
      for (var r = 0u; r < RM; r++) {
        let a = vec4<f32>(tileA[kk][lid.y + r * WG_M]);
        for (var v = 0u; v < VN; v++) {
          acc[r][v] = fma(a, b[v], acc[r][v]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < RM; r++) {
    let m = m0 + lid.y + r * WG_M;
    if (m < M) {
      for (var v = 0u; v < VN; v++) {
        let n4 = n40 + lid.x + v * WG_N;
        if (n4 < NV) {
          store(m, n4, acc[r][v]);
        }
      }
    }
  }
}
