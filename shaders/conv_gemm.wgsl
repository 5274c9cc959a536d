// Tiled implicit-GEMM main loop for the conv kernels (for GPUs): C[M, N] = A[M, K] * B[K, N] with
// M = batch * OH * OW output pixels, N = output channels, K = KH * KW * CIN. Each workgroup stages a
// BM x BK tile of A (gathered by the conv file's readA/readA4) and a BK x BN tile of B in workgroup
// memory; each invocation then holds a register block of TM4 x 4 rows by TN4 vec4 columns: per k step it
// reads TM4 vec4s of A (4 consecutive rows each) and TN4 vec4s of B, and does 4 * TM4 * TN4 vec4 FMAs.
// Row groups and column groups are interleaved across invocations, so shared-memory reads and global
// stores stay contiguous.
// Split-K: workgroup z covers K range [z * KS, (z + 1) * KS) and writes its partial sums to rows
// z * M + m of the output (conv_epilogue.wgsl in PARTIAL mode); conv_splitk.wgsl adds them up.
// Uses params, K, NV, OHW (conv_constants.wgsl), weight4 (weights_vec4.wgsl: the weights as [K][NV] vec4
// in any storage), pixelOf, readA, readA4 (a gather) and store (conv_epilogue.wgsl).

const BM4 = ${BM4}u; // rows per tile / 4
const BN4 = ${BN4}u; // vec4 columns per tile
const BK = ${BK}u;
const WG_M = ${WG_M}u;
const WG_N = ${WG_N}u;
const TM4 = ${TM4}u; // row groups of 4 per invocation (BM4 / WG_M)
const TN4 = ${TN4}u; // vec4 columns per invocation (BN4 / WG_N)
const KS = ${KS}u; // K per split (a multiple of BK; K itself without split-K)
// SLICED (Winograd's batched GEMM, src/kernels/winograd.ts): workgroup z is slice z instead of a split of
// K: its rows of A and C are z * M + m, its weights start at z * K * NV, and it covers all of K.
const SLICED = ${SLICED};
const WG_SIZE = WG_M * WG_N;

var<workgroup> tileA: array<array<vec4<f32>, BM4>, BK>; // [k][m / 4], 4 consecutive rows per vec4
var<workgroup> tileB: array<array<vec4<f32>, BN4>, BK>; // [k][n / 4]

fn loadTileA(m0: u32, k0: u32, kEnd: u32, li: u32, M: u32, rows: u32) {
#if ${VEC_A}
  for (var i = li; i < BM4 * BK; i += WG_SIZE) {
    let mm = i / (BK / 4u);
    let kq = i % (BK / 4u);
    let m = m0 + mm;
    let k = k0 + kq * 4u;
    var a = vec4<f32>(0.0);
    if (m < M && k < kEnd) {
      a = readA4(pixelOf(rows + m), k);
    }
    tileA[kq * 4u][mm / 4u][mm % 4u] = a.x;
    tileA[kq * 4u + 1u][mm / 4u][mm % 4u] = a.y;
    tileA[kq * 4u + 2u][mm / 4u][mm % 4u] = a.z;
    tileA[kq * 4u + 3u][mm / 4u][mm % 4u] = a.w;
  }
#else
  for (var i = li; i < BM4 * 4u * BK; i += WG_SIZE) {
    let mm = i / BK;
    let kk = i % BK;
    let m = m0 + mm;
    let k = k0 + kk;
    var a = 0.0;
    if (m < M && k < kEnd) {
      a = readA(pixelOf(rows + m), k);
    }
    tileA[kk][mm / 4u][mm % 4u] = a;
  }
#endif
}

fn loadTileB(n40: u32, k0: u32, kEnd: u32, li: u32, slice: u32) {
  for (var i = li; i < BK * BN4; i += WG_SIZE) {
    let kk = i / BN4;
    let c = i % BN4;
    let k = k0 + kk;
    let n4 = n40 + c;
    var b = vec4<f32>(0.0);
    if (k < kEnd && n4 < NV) {
      b = weight4(slice + k * NV + n4);
    }
    tileB[kk][c] = b;
  }
}

@compute @workgroup_size(WG_N, WG_M)
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let M = params.batch * OHW;
  let m0 = wid.y * BM4 * 4u;
  let n40 = wid.x * BN4;
  let rows = select(0u, wid.z * M, SLICED); // the slice's first row of A
  let slice = select(0u, wid.z * K * NV, SLICED); // the slice's first weight
  let kBegin = select(wid.z * KS, 0u, SLICED);
  let kEnd = min(K, kBegin + KS);
  var acc: array<array<vec4<f32>, TN4>, TM4 * 4u>;
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    loadTileA(m0, k0, kEnd, li, M, rows);
    loadTileB(n40, k0, kEnd, li, slice);
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var b: array<vec4<f32>, TN4>;
      for (var v = 0u; v < TN4; v++) {
        b[v] = tileB[kk][lid.x + v * WG_N];
      }
      for (var g = 0u; g < TM4; g++) {
        let a = tileA[kk][lid.y + g * WG_M];
        for (var v = 0u; v < TN4; v++) {
          acc[4u * g][v] = fma(vec4<f32>(a.x), b[v], acc[4u * g][v]);
          acc[4u * g + 1u][v] = fma(vec4<f32>(a.y), b[v], acc[4u * g + 1u][v]);
          acc[4u * g + 2u][v] = fma(vec4<f32>(a.z), b[v], acc[4u * g + 2u][v]);
          acc[4u * g + 3u][v] = fma(vec4<f32>(a.w), b[v], acc[4u * g + 3u][v]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var g = 0u; g < TM4; g++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + 4u * (lid.y + g * WG_M) + j;
      if (m < M) {
        for (var v = 0u; v < TN4; v++) {
          let n4 = n40 + lid.x + v * WG_N;
          if (n4 < NV) {
            store(wid.z * M + m, n4, acc[4u * g + j][v]);
          }
        }
      }
    }
  }
}
