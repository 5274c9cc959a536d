// weight4(i): one element of a weight matrix in the column layout (src/ops/weight-storage.ts), as four
// floats: at i = k * NV + n, row k's columns 4n .. 4n + 3. `weights` is declared by the kernel with
// element type W_T: vec4<f32> (f32), vec2<u32> (f16: two halves per u32) or u32 (int8: four q per u32,
// read as q / 127; the kernel's epilogue multiplies the column sums by 127 * scale).
#if ${F16}
fn weight4(i: u32) -> vec4<f32> {
  let w = weights[i];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}
#elif ${INT8}
fn weight4(i: u32) -> vec4<f32> {
  return unpack4x8snorm(weights[i]);
}
#else
fn weight4(i: u32) -> vec4<f32> {
  return weights[i];
}
#endif
