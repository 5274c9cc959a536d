// Implicit-GEMM main loop shared by the conv kernels (conv1x1.wgsl, conv3x3.wgsl, conv7x7.wgsl).
// C[M, N] = A[M, K] * B[K, N] with M = batch * OH * OW output pixels, N = output channels,
// K = KH * KW * CIN. The kernel file in front of this one declares `input` and defines
// `loadTileA(m0, k0, li, M)`, which fills `tileA` (transposed: [k][m]). B is the HWIO weight matrix,
// packed as vec4 along N (NV = ceil(COUT / 4) columns, zero padded).
// Each invocation owns RM rows x VN vec4 columns, interleaved so loads and stores stay coalesced.
// Epilogue: bias, then the optional residual add, then the optional ReLU, in one pass.

struct Params { batch: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
#if ${RESIDUAL}
@group(0) @binding(4) var<storage, read_write> residual: array<${OUT_T}>;
#endif
@group(0) @binding(5) var<storage, read_write> output: array<${OUT_T}>;

const BM = ${BM}u;
const BN4 = ${BN4}u;
const BK = ${BK}u;
const WG_M = ${WG_M}u;
const WG_N = ${WG_N}u;
const RM = ${RM}u;
const VN = ${VN}u;
const WG_SIZE = WG_M * WG_N;
const K = ${K}u;
const NV = ${NV}u;
const COUT = ${COUT}u;
const OHW = ${OHW}u;

var<workgroup> tileA: array<array<f32, BM>, BK>;
var<workgroup> tileB: array<array<vec4<f32>, BN4>, BK>;

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

fn store(m: u32, n4: u32, acc: vec4<f32>) {
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
