// A-operand gather of a windowed conv over few input channels (the 7x7/2 stem over RGB): one row of the
// receptive field, KW pixels x CIN channels, is contiguous in NHWC, so k = kh * ROW + j reads input row
// iy at offset j from the window's left edge: one index computation per value, whatever CIN is. Outside
// the image it reads 0 (branch-free: clamped index + select). Uses `input` (scalar, conv_constants.wgsl)
// and pixelOf, IN_H, IN_W (conv_window.wgsl); defines readA.

const CIN = ${CIN}u;
const ROW = ${ROW}u;

fn readA(p: Pixel, k: u32) -> f32 {
  let j = k % ROW;
  let iy = p.iy + i32(k / ROW);
  let ix = p.ix + i32(j / CIN);
  let inside = iy >= 0 && iy < i32(IN_H) && ix >= 0 && ix < i32(IN_W);
  let row = (p.image + u32(clamp(iy, 0, i32(IN_H) - 1))) * IN_W * CIN;
  let at = i32(row) + p.ix * i32(CIN) + i32(j);
  return select(0.0, input[u32(clamp(at, 0, i32(row + IN_W * CIN) - 1))], inside);
}
