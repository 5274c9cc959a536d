// Training a classification head: every example's row of standardized features, once before the first
// epoch: rows[j] = (x_j - mean) * scale, padded with 0 from F to FP (a multiple of 4: the training kernels
// read vec4s). The minibatch kernels then read rows through each epoch's order of example indices.
// Workgroup (x, y): 64 features of rows y, y + groups.y, ...
// Bindings (declared from TRAIN_STANDARDIZE_BINDINGS in src/kernels/train.ts): features ([COUNT][F]),
// stats (means, then scales), rows ([COUNT][FP]).

const F = ${F}u;
const FP = ${FP}u;
const COUNT = ${COUNT}u;

@compute @workgroup_size(64)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let f = gid.x;
  if (f >= FP) {
    return;
  }
  let keep = f < F;
  let at = min(f, F - 1u);
  let mean = stats[at];
  let scale = select(0.0, stats[F + at], keep);
  for (var j = wid.y; j < COUNT; j += groups.y) {
    rows[j * FP + f] = (features[j * F + at] - mean) * scale;
  }
}
