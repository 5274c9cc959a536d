// Training a classification head (src/train/): the mean of each feature over the training examples and
// its scale, 1 / (standard deviation * sqrt(F)) (two passes: the mean, then the spread around it), so the
// standardized features have mean 0 and variance 1 / F: an example's vector has length about 1, and a
// step of the optimizer moves the logits by about the same for any feature count. A constant feature
// gets scale 0: standardized, it is 0 everywhere and the head ignores it.
// Bindings (declared from TRAIN_STATS_BINDINGS in src/kernels/train.ts): features ([N][F]), examples
// (the training examples' indices), stats (the F means, then the F scales).

const F = ${F}u;
const COUNT = ${COUNT}u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let f = gid.x;
  if (f >= F) {
    return;
  }
  var sum = 0.0;
  for (var i = 0u; i < COUNT; i++) {
    sum += features[examples[i] * F + f];
  }
  let mean = sum / f32(COUNT);
  var spread = 0.0;
  for (var i = 0u; i < COUNT; i++) {
    let d = features[examples[i] * F + f] - mean;
    spread = fma(d, d, spread);
  }
  let deviation = sqrt(spread / f32(COUNT));
  stats[f] = mean;
  stats[F + f] = select(0.0, 1.0 / (deviation * sqrt(f32(F))), deviation > 1e-6);
}
