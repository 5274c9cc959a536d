// Winograd's input transforms (winograd_input.wgsl, winograd4_input.wgsl): a pixel of a tile's input
// window, zeros outside the image (the conv's padding of 1), inside it through the conv's pre-activation
// (conv_preact.wgsl). NHWC input, vec4 channels.

const IN_H = ${IN_H}u;
const IN_W = ${IN_W}u;
const CIN4 = ${CIN4}u;

fn pixel(n: u32, y: i32, x: i32, c4: u32) -> vec4<f32> {
  if (y < 0 || x < 0 || y >= i32(IN_H) || x >= i32(IN_W)) {
    return vec4<f32>(0.0);
  }
  return preact4(input[((n * IN_H + u32(y)) * IN_W + u32(x)) * CIN4 + c4], c4);
}
