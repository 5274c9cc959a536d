// The C side of a conv (conv_constants.wgsl): store(m, n4, acc) writes output channels 4 * n4 .. + 3 of
// output pixel m: the int8 scale (SCALED), bias, then the optional residual add, then the optional ReLU, written once
// to the NHWC
// output. In PARTIAL mode (the first kernel of a split-K conv) it writes the raw sums instead, as vec4 row
// m of the partial-sum tensor (the main loop passes z * M + m), and the epilogue runs in conv_splitk.wgsl.

fn store(m: u32, n4: u32, acc: vec4<f32>) {
#if ${PARTIAL}
  output[m * NV + n4] = acc;
#else
#if ${SCALED}
  var v = acc * scale[n4] + bias[n4];
#else
  var v = acc + bias[n4];
#endif
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
#endif
}
