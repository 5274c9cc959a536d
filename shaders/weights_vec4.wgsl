// weight4(i): one element of a weight matrix in the column layout (src/kernels/weight-storage.ts), as four
// floats: at i = k * NV + n, row k's columns 4n .. 4n + 3. `weights` is declared by the kernel with
// element type W_T: vec4<f32> (f32), vec2<u32> (f16: two halves per u32) or u32 (int8: four q per u32,
// read as the integers q; the kernel's epilogue multiplies the column sums by the scales).
#if ${F16}
fn weight4(i: u32) -> vec4<f32> {
  let w = weights[i];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}
#elif ${INT8}
fn weight4(i: u32) -> vec4<f32> {
  return int8x4(weights[i]);
}

// The four signed bytes of w (the first in the low byte) as floats: shifted to the top, then back with
// sign extension.
fn int8x4(w: u32) -> vec4<f32> {
  return vec4<f32>((vec4<i32>(bitcast<i32>(w)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
#else
fn weight4(i: u32) -> vec4<f32> {
  return weights[i];
}
#endif
