// The window geometry both window pools share (maxpool.wgsl, avg_pool.wgsl; src/kernels/pool.ts joins this
// file before each): the sizes, and which output element invocation `i` computes. Padding is signed, so a
// window's first pixel may lie before the image.
// Bindings (declared from POOL_BINDINGS in src/kernels/pool.ts): params, input, output (T elements).

const C = ${CV}u; // channels, in units of T
const IN_H = ${IN_H}u;
const IN_W = ${IN_W}u;
const OUT_H = ${OUT_H}u;
const OUT_W = ${OUT_W}u;
const KH = ${KH}u;
const KW = ${KW}u;
const STRIDE_H = ${STRIDE_H}u;
const STRIDE_W = ${STRIDE_W}u;
const PAD_T = ${PAD_T};
const PAD_L = ${PAD_L};
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

// One output element: image n, pixel (oy, ox), channel group c.
struct PoolOut {
  n: u32,
  oy: u32,
  ox: u32,
  c: u32,
}

fn poolOut(i: u32) -> PoolOut {
  let p = i / C;
  return PoolOut(p / (OUT_W * OUT_H), (p / OUT_W) % OUT_H, p % OUT_W, i % C);
}

fn inputAt(n: u32, iy: i32, ix: i32, c: u32) -> ${T} {
  return input[((n * IN_H + u32(iy)) * IN_W + u32(ix)) * C + c];
}
