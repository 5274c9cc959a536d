// A conv's pre-activation (a pre-activation ResNet's BatchNorm + ReLU, fused into the conv that reads it):
// every input value the gathers read inside the image passes through preact4 / preact1 (channel c: x * scale +
// shift, then a ReLU where RELU); padding stays 0, as it is after the BatchNorm it replaces. `preact` (vec4)
// holds CIN4 scales then CIN4 shifts. Without PREACT both return the value as read. Used by the gathers
// (conv_gather_*.wgsl), the grouped loop and Winograd's input window (winograd_window.wgsl).

#if ${PREACT}
const PREACT_CIN4 = ${CIN4}u;

fn preact4(x: vec4<f32>, c4: u32) -> vec4<f32> {
  let y = x * preact[c4] + preact[PREACT_CIN4 + c4];
#if ${RELU}
  return max(y, vec4<f32>(0.0));
#else
  return y;
#endif
}

fn preact1(x: f32, c: u32) -> f32 {
  let y = x * preact[c / 4u][c % 4u] + preact[PREACT_CIN4 + c / 4u][c % 4u];
#if ${RELU}
  return max(y, 0.0);
#else
  return y;
#endif
}
#else
fn preact4(x: vec4<f32>, c4: u32) -> vec4<f32> {
  return x;
}

fn preact1(x: f32, c: u32) -> f32 {
  return x;
}
#endif
