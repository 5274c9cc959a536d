// Image preprocessing on the GPU, the same arithmetic as src/preprocess/preprocess.ts: resize so the
// shorter side is RESIZE (triangle filter, widened when shrinking: antialiased), center crop CROP x CROP,
// then value = (pixel * SCALE - mean) / std per output channel, written NHWC into the network's input.
// One invocation per output pixel; the source is an rgba8unorm texture (alpha ignored).

struct Params {
  scale: vec2<f32>,     // source pixels per resized pixel, x and y
  support: vec2<f32>,   // filter half-width in source pixels: max(scale, 1)
  origin: vec2<u32>,    // crop origin in resized pixels
  mean: vec4<f32>,      // per output channel
  deviation: vec4<f32>,
}
@group(0) @binding(0) var source: texture_2d<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;

const CROP = ${CROP}u;
const PIXEL_SCALE = ${PIXEL_SCALE};

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= CROP || gid.y >= CROP) {
    return;
  }
  let size = vec2<i32>(textureDimensions(source));
  let center = (vec2<f32>(gid.xy + params.origin) + 0.5) * params.scale;
  let lo = max(vec2<i32>(floor(center - params.support + 0.5)), vec2<i32>(0));
  let hi = min(vec2<i32>(floor(center + params.support + 0.5)), size);
  var sum = vec3<f32>(0.0);
  var total = 0.0;
  for (var y = lo.y; y < hi.y; y++) {
    let wy = max(0.0, 1.0 - abs((f32(y) - center.y + 0.5) / params.support.y));
    for (var x = lo.x; x < hi.x; x++) {
      let w = wy * max(0.0, 1.0 - abs((f32(x) - center.x + 0.5) / params.support.x));
      sum += textureLoad(source, vec2<i32>(x, y), 0).rgb * w;
      total += w;
    }
  }
  let rgb = sum / max(total, 1e-20) * 255.0;
#if ${BGR}
  let ordered = rgb.bgr;
#else
  let ordered = rgb;
#endif
  let v = (ordered * PIXEL_SCALE - params.mean.xyz) / params.deviation.xyz;
  let o = (gid.y * CROP + gid.x) * 3u;
  output[o] = v.x;
  output[o + 1u] = v.y;
  output[o + 2u] = v.z;
}
