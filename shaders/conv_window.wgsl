// Receptive-field geometry shared by the windowed gathers (conv_gather_window.wgsl, conv_gather_rows.wgsl):
// where output pixel m's window starts in the NHWC input. The window may start in the padding (negative).
// Uses OHW (conv_constants.wgsl); defines Pixel, pixelOf and the input geometry.

const IN_H = ${IN_H}u;
const IN_W = ${IN_W}u;
const OUT_W = ${OUT_W}u;
const STRIDE_H = ${STRIDE_H}u;
const STRIDE_W = ${STRIDE_W}u;
const PAD_T = ${PAD_T}u;
const PAD_L = ${PAD_L}u;

// Top-left corner of output pixel m's window, and the first input row of its image.
struct Pixel { iy: i32, ix: i32, image: u32 }

fn pixelOf(m: u32) -> Pixel {
  let r = m % OHW;
  return Pixel(i32((r / OUT_W) * STRIDE_H) - i32(PAD_T), i32((r % OUT_W) * STRIDE_W) - i32(PAD_L), (m / OHW) * IN_H);
}
