// Main loop of a grouped conv (ResNeXt's 3x3 convs): output channel c sums over the CING input channels of
// its group, c / COUT_G, only: K = KH * KW * CING products. Workgroup (x, y) computes output channels
// 4y .. 4y + 3 (one group: COUT_G is a multiple of 4) of WG * R output pixels; each invocation R of them,
// WG apart, so a weight read (the same for the whole workgroup) serves R pixels, and neighbouring
// invocations read neighbouring pixels. Outside the image a read is a clamped index and a select (zero
// padding; inside, the value through the conv's pre-activation), the same instructions for every invocation. With VEC_A (CING a multiple of 4) four input
// channels are one vec4 load. With SUBGROUPS (CPU adapters, whose invocations are SIMD lanes and whose loads
// each cost tens of cycles) four lanes read the four weight rows of a step and share them by subgroupBroadcast,
// one load instead of four. The statements per pixel (PIXELS, WINDOW, STEP, STORES) are unrolled by
// src/kernels/conv-loops.ts: no arrays, so a CPU backend keeps them in registers. Run under either strategy:
// a group's few channels are too narrow a GEMM for the tiled and simd loops' tiles.
// Uses params, input, K, NV, OHW (conv_constants.wgsl), preact4 / preact1 (conv_preact.wgsl), pixelOf, IN_H, IN_W (conv_window.wgsl), weight4
// (weights_vec4.wgsl: the [K][COUT] column layout) and store (conv_epilogue.wgsl).

const CIN = ${CIN}u;
const CING = ${CING}u;
const COUT_G = ${COUT_G}u;
const KH = ${KH}u;
const KW = ${KW}u;
const WG = ${WG}u;

// Where pixel p's window row ky, column kx starts in the input (clamped), and whether it is inside the image.
fn windowAt(p: Pixel, ky: u32, kx: u32, first: u32) -> vec2<u32> {
  let iy = p.iy + i32(ky);
  let ix = p.ix + i32(kx);
  let inside = iy >= 0 && iy < i32(IN_H) && ix >= 0 && ix < i32(IN_W);
  let y = u32(clamp(iy, 0, i32(IN_H) - 1));
  let x = u32(clamp(ix, 0, i32(IN_W) - 1));
  return vec2<u32>(((p.image + y) * IN_W + x) * CIN + first, u32(inside));
}

@compute @workgroup_size(WG)
#if ${SUBGROUPS}
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(subgroup_invocation_id) lane: u32,
) {
#else
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
#endif
  let M = params.batch * OHW;
  let n4 = wid.y;
  let first = (n4 * 4u / COUT_G) * CING; // the group's first input channel
  let base = wid.x * WG * ${R}u + lid.x;
${PIXELS}
  for (var ky = 0u; ky < KH; ky++) {
    for (var kx = 0u; kx < KW; kx++) {
${WINDOW}
      let row = (ky * KW + kx) * CING;
#if ${VEC_A}
      for (var c = 0u; c < CING; c += 4u) {
        let w = (row + c) * NV + n4;
#if ${SUBGROUPS}
        let mine = weight4(w + (lane % 4u) * NV); // lanes 0 .. 3 read the four rows, every lane gets them
        let w0 = subgroupBroadcast(mine, 0u);
        let w1 = subgroupBroadcast(mine, 1u);
        let w2 = subgroupBroadcast(mine, 2u);
        let w3 = subgroupBroadcast(mine, 3u);
#else
        let w0 = weight4(w);
        let w1 = weight4(w + NV);
        let w2 = weight4(w + 2u * NV);
        let w3 = weight4(w + 3u * NV);
#endif
${STEP}
      }
#else
      for (var c = 0u; c < CING; c++) {
        let w = weight4((row + c) * NV + n4);
${STEP}
      }
#endif
    }
  }
${STORES}
}
