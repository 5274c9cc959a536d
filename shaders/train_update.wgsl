// Training a classification head, the backward half of a step and the update: the gradient of 4
// features x 4 classes of W (dW = x^T dz over the BATCH examples from order[step.start], x their rows
// of standardized features; dz from train_softmax.wgsl, 0 past the minibatch's count), or of 4 classes of b (db = the
// sum of dz),
// then AdamW: moments m and v, bias-corrected, and the weights (not the bias) decayed by lr * decay.
// Invocation (g, q): feature group g < F4 (g = F4: the bias), class group q.
// Bindings (declared from TRAIN_UPDATE_BINDINGS in src/kernels/train.ts): step (a Step uniform), rows
// ([examples][F4] vec4), order (example indices), dz ([BATCH][C4] vec4), params (W [F4 * 4][C4], then b [C4]), moments
// (m for every
// parameter, then v).

const F4 = ${F4}u;
const C4 = ${C4}u;
const BATCH = ${BATCH}u;
const P4 = ${P4}u; // (F4 * 4 + 1) * C4: the parameters, in vec4s
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;

fn adamw(p: u32, g: vec4<f32>, decay: f32) {
  let m = BETA1 * moments[p] + (1.0 - BETA1) * g;
  let v = BETA2 * moments[P4 + p] + (1.0 - BETA2) * g * g;
  moments[p] = m;
  moments[P4 + p] = v;
  let theta = params[p] * (1.0 - step.lr * decay);
  params[p] = theta - step.lr * (m / step.correction1) / (sqrt(v / step.correction2) + EPSILON);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x % C4;
  let g = gid.x / C4;
  if (g > F4) {
    return;
  }
  if (g == F4) {
    var db = vec4(0.0);
    for (var j = 0u; j < BATCH; j++) {
      db += dz[j * C4 + q];
    }
    adamw(F4 * 4u * C4 + q, db, 0.0);
    return;
  }
  var g0 = vec4(0.0);
  var g1 = vec4(0.0);
  var g2 = vec4(0.0);
  var g3 = vec4(0.0);
  // a row past the count (dz 0 there) reads the minibatch's last example
  let last = step.count - 1u;
  for (var j = 0u; j < BATCH; j++) {
    let x = rows[order[step.start + min(j, last)] * F4 + g];
    let d = dz[j * C4 + q];
    g0 = fma(vec4(x.x), d, g0);
    g1 = fma(vec4(x.y), d, g1);
    g2 = fma(vec4(x.z), d, g2);
    g3 = fma(vec4(x.w), d, g3);
  }
  adamw((4u * g) * C4 + q, g0, step.decay);
  adamw((4u * g + 1u) * C4 + q, g1, step.decay);
  adamw((4u * g + 2u) * C4 + q, g2, step.decay);
  adamw((4u * g + 3u) * C4 + q, g3, step.decay);
}
