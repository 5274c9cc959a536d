// EXPERIMENT (bench/, not used by the engine): shaders/conv_gemm.wgsl with register prefetch. Same
// defines; run it with the tiling sweep (bench/tune.ts) or PlanOptions.gemmShader. On an H200 it won at
// batch 1 and lost at batch 32 (bench/results/2026-11-26-nvidia-h200-tiling-sweep.json).
// Tiled implicit-GEMM main loop for the conv kernels (for GPUs): C[M, N] = A[M, K] * B[K, N] with
// M = batch * OH * OW output pixels, N = output channels, K = KH * KW * CIN. Each workgroup stages a
// BM x BK tile of A (gathered by the conv file's readA/readA4) and a BK x BN tile of B in workgroup
// memory; each invocation then holds a register block of TM4 x 4 rows by TN4 vec4 columns: per k step it
// reads TM4 vec4s of A (4 consecutive rows each) and TN4 vec4s of B, and does 4 * TM4 * TN4 vec4 FMAs.
// Row groups and column groups are interleaved across invocations, so shared-memory reads and global
// stores stay contiguous.
// The next tile's global loads are issued into registers before the current tile's FMAs, so their
// latency hides behind the math (one tile of registers per invocation).
// Split-K: workgroup z covers K range [z * KS, (z + 1) * KS) and writes its partial sums to rows
// z * M + m of the output (conv_epilogue.wgsl in PARTIAL mode); conv_splitk.wgsl adds them up.
// Uses params, K, NV, OHW (conv_constants.wgsl, CONV_BINDINGS), weight4 (weights_vec4.wgsl), pixelOf, readA, readA4 (a
// gather) and store (conv_epilogue.wgsl).

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

#if ${VEC_A}
const A_COUNT = BM4 * BK; // vec4 loads per A tile
#else
const A_COUNT = BM4 * 4u * BK;
#endif
const B_COUNT = BK * BN4;
const PA = (A_COUNT + WG_SIZE - 1u) / WG_SIZE;
const PB = (B_COUNT + WG_SIZE - 1u) / WG_SIZE;
#if ${VEC_A}
var<private> nextA: array<vec4<f32>, PA>;
#else
var<private> nextA: array<f32, PA>;
#endif
var<private> nextB: array<vec4<f32>, PB>;

// Global loads of the tile at k0 into registers.
fn fetchTiles(m0: u32, n40: u32, k0: u32, kEnd: u32, li: u32, M: u32, rows: u32, slice: u32) {
  for (var p = 0u; p < PA; p++) {
    let i = li + p * WG_SIZE;
#if ${VEC_A}
    let m = m0 + i / (BK / 4u);
    let k = k0 + (i % (BK / 4u)) * 4u;
    var a = vec4<f32>(0.0);
    if (i < A_COUNT && m < M && k < kEnd) {
      a = readA4(pixelOf(rows + m), k);
    }
#else
    let m = m0 + i / BK;
    let k = k0 + i % BK;
    var a = 0.0;
    if (i < A_COUNT && m < M && k < kEnd) {
      a = readA(pixelOf(rows + m), k);
    }
#endif
    nextA[p] = a;
  }
  for (var p = 0u; p < PB; p++) {
    let i = li + p * WG_SIZE;
    let k = k0 + i / BN4;
    let n4 = n40 + i % BN4;
    var b = vec4<f32>(0.0);
    if (i < B_COUNT && k < kEnd && n4 < NV) {
      b = weight4(slice + k * NV + n4);
    }
    nextB[p] = b;
  }
}

// The fetched registers into workgroup memory.
fn storeTiles(li: u32) {
  for (var p = 0u; p < PA; p++) {
    let i = li + p * WG_SIZE;
    if (i < A_COUNT) {
#if ${VEC_A}
      let mm = i / (BK / 4u);
      let kq = i % (BK / 4u);
      let a = nextA[p];
      tileA[kq * 4u][mm / 4u][mm % 4u] = a.x;
      tileA[kq * 4u + 1u][mm / 4u][mm % 4u] = a.y;
      tileA[kq * 4u + 2u][mm / 4u][mm % 4u] = a.z;
      tileA[kq * 4u + 3u][mm / 4u][mm % 4u] = a.w;
#else
      let mm = i / BK;
      tileA[i % BK][mm / 4u][mm % 4u] = nextA[p];
#endif
    }
  }
  for (var p = 0u; p < PB; p++) {
    let i = li + p * WG_SIZE;
    if (i < B_COUNT) {
      tileB[i / BN4][i % BN4] = nextB[p];
    }
  }
}

@compute @workgroup_size(WG_N, WG_M)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let M = params.batch * OHW;
  let m0 = wid.y * BM4 * 4u;
  let n40 = wid.x * BN4;
  let rows = select(0u, wid.z * M, SLICED); // the slice's first row of A
  let slice = select(0u, wid.z * K * NV, SLICED); // the slice's first weight
  let kBegin = select(wid.z * KS, 0u, SLICED);
  let kEnd = min(K, kBegin + KS);
  var acc: array<array<vec4<f32>, TN4>, TM4 * 4u>;
  fetchTiles(m0, n40, kBegin, kEnd, li, M, rows, slice);
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    storeTiles(li);
    workgroupBarrier();
    if (k0 + BK < kEnd) {
      fetchTiles(m0, n40, k0 + BK, kEnd, li, M, rows, slice);
    }
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
