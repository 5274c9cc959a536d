// Image preprocessing on the GPU, the same arithmetic as src/preprocess/preprocess.ts: resize so the
// shorter side is RESIZE (triangle filter, or with BICUBIC Keys' cubic a = -0.5, as PIL's; widened when
// shrinking: antialiased), crop CROP x CROP at
// origin (the center, or where training's augmentation puts it; mirrored left to right with flip),
// then value = (pixel * SCALE - mean) / std per output channel, written NHWC into the network's input.
// One invocation per output pixel; the source is an rgba8unorm or bgra8unorm texture, or their -srgb
// forms (alpha ignored).

// Bindings (declared from PREPROCESS_BINDINGS in src/kernels/preprocess.ts): source (the image), resize (a
// Resize uniform), output (the network's input slot, f32). With SRGB (an -srgb texture, whose texels read
// as linear values), each texel is encoded back to sRGB first: the bytes the image holds.

struct Resize {
  scale: vec2<f32>,     // source pixels per resized pixel, x and y
  support: vec2<f32>,   // filter half-width in source pixels: taps (1 or 2) x max(scale, 1)
  origin: vec2<u32>,    // crop origin in resized pixels
  flip: u32,            // 1: mirrored left to right
  mean: vec4<f32>,      // per output channel
  deviation: vec4<f32>,
  widening: vec2<f32>,  // the filter's widening: max(scale, 1)
}

const CROP = ${CROP}u;
const PIXEL_SCALE = ${PIXEL_SCALE};

// A texel's r, g, b as the image's bytes / 255.
fn texel(at: vec2<i32>) -> vec3<f32> {
  let c = textureLoad(source, at, 0).rgb;
#if ${SRGB}
  // the sRGB encoding (IEC 61966-2-1) of the linear values the -srgb format decoded, rounded to the byte
  // it came from (a decoder's linear values may be off by a fraction of a step; lavapipe's by up to 0.34)
  let encoded = select(1.055 * pow(c, vec3<f32>(1.0 / 2.4)) - 0.055, 12.92 * c, c <= vec3<f32>(0.0031308));
  return round(encoded * 255.0) / 255.0;
#else
  return c;
#endif
}

// The filter's weight at distance d (in filter units: source pixels / widening).
fn filterWeight(d: f32) -> f32 {
  let x = abs(d);
#if ${BICUBIC}
  let a = -0.5;
  if (x < 1.0) {
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  }
  return select(0.0, (((x - 5.0) * x + 8.0) * x - 4.0) * a, x < 2.0);
#else
  return max(0.0, 1.0 - x);
#endif
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= CROP || gid.y >= CROP) {
    return;
  }
  let size = vec2<i32>(textureDimensions(source));
  let column = select(gid.x, CROP - 1u - gid.x, resize.flip != 0u); // the crop's column this pixel shows
  let center = (vec2<f32>(vec2<u32>(column, gid.y) + resize.origin) + 0.5) * resize.scale;
  let lo = max(vec2<i32>(floor(center - resize.support + 0.5)), vec2<i32>(0));
  let hi = min(vec2<i32>(floor(center + resize.support + 0.5)), size);
  // separable, as Pillow: each row's horizontal sum clipped to the byte range, then the vertical sum (a
  // cubic's lobes overshoot at sharp edges; the triangle's never do)
  var totalX = 0.0;
  for (var x = lo.x; x < hi.x; x++) {
    totalX += filterWeight((f32(x) - center.x + 0.5) / resize.widening.x);
  }
  var sum = vec3<f32>(0.0);
  var totalY = 0.0;
  for (var y = lo.y; y < hi.y; y++) {
    let wy = filterWeight((f32(y) - center.y + 0.5) / resize.widening.y);
    var row = vec3<f32>(0.0);
    for (var x = lo.x; x < hi.x; x++) {
      row += texel(vec2<i32>(x, y)) * filterWeight((f32(x) - center.x + 0.5) / resize.widening.x);
    }
    sum += wy * clamp(row / select(totalX, 1e-20, totalX == 0.0), vec3<f32>(0.0), vec3<f32>(1.0));
    totalY += wy;
  }
  let rgb = clamp(sum / select(totalY, 1e-20, totalY == 0.0), vec3<f32>(0.0), vec3<f32>(1.0)) * 255.0;
#if ${BGR}
  let ordered = rgb.bgr;
#else
  let ordered = rgb;
#endif
  let v = (ordered * PIXEL_SCALE - resize.mean.xyz) / resize.deviation.xyz;
  let o = (gid.y * CROP + gid.x) * 3u;
  output[o] = v.x;
  output[o + 1u] = v.y;
  output[o + 2u] = v.z;
}
