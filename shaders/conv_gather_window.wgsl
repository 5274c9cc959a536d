// A-operand gather of a windowed conv (KxK, any stride and padding; the 3x3 convs of a ResNet): row m of
// A is the receptive field of output pixel m, k = (kh * KW + kw) * CIN + ci, gathered from NHWC input;
// outside the image it reads 0, inside it the value through the conv's pre-activation (conv_preact.wgsl). With VEC_A (CIN a multiple of 4, `input` as vec4) four consecutive k are
// one vec4 load. Reads are branch-free (a clamped index and a select), so every invocation runs the same
// instructions. Uses `input` (conv_constants.wgsl), preact4 / preact1 (conv_preact.wgsl) and pixelOf, IN_H, IN_W (conv_window.wgsl); defines
// readA and, with VEC_A, readA4.

const CIN = ${CIN}u;
const KW = ${KW}u;

// Flat index of A[m, k] (clamped into the image) and whether it lies inside the image.
fn locate(p: Pixel, k: u32) -> vec2<u32> {
  let kr = k % (KW * CIN);
  let iy = p.iy + i32(k / (KW * CIN));
  let ix = p.ix + i32(kr / CIN);
  let inside = iy >= 0 && iy < i32(IN_H) && ix >= 0 && ix < i32(IN_W);
  let at = ((p.image + u32(clamp(iy, 0, i32(IN_H) - 1))) * IN_W + u32(clamp(ix, 0, i32(IN_W) - 1))) * CIN + kr % CIN;
  return vec2<u32>(at, u32(inside));
}

#if ${VEC_A}
fn readA4(p: Pixel, k: u32) -> vec4<f32> {
  let at = locate(p, k);
  return select(vec4<f32>(0.0), preact4(input[at.x / 4u], (at.x % CIN) / 4u), at.y == 1u);
}

fn readA(p: Pixel, k: u32) -> f32 {
  let at = locate(p, k);
  return select(0.0, preact1(input[at.x / 4u][at.x % 4u], at.x % CIN), at.y == 1u);
}
#else
fn readA(p: Pixel, k: u32) -> f32 {
  let at = locate(p, k);
  return select(0.0, preact1(input[at.x], at.x % CIN), at.y == 1u);
}
#endif
