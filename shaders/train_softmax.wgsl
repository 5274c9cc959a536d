// Training a classification head: for each row j < step.count of a minibatch (the example i =
// order[step.start + j]), the softmax of its logits (train_logits.wgsl), its cross-entropy (loss[i]) and
// whether its argmax is its label (correct[i]); with TRAIN, dz[j] = (p - onehot) * w_y / the sum of the
// minibatch's w: the gradient of the class-weighted mean loss with respect to the logits, for
// train_update.wgsl (the padding classes past C, and the rows from count to BATCH, get 0). One
// invocation per row.
// Bindings (declared from TRAIN_SOFTMAX_BINDINGS in src/kernels/train.ts): step (a Step uniform), logits
// ([rows][C4 * 4]), labels, classWeight ([C]), order, dz ([rows][C4 * 4]), loss ([N]), correct ([N]).

const C = ${C}u;
const CP = ${CP}u; // C rounded up to 4: a row's stride
const BATCH = ${BATCH}u; // the rows of dz

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= step.count) {
#if ${TRAIN}
    if (j < BATCH) {
      for (var c = 0u; c < CP; c++) {
        dz[j * CP + c] = 0.0;
      }
    }
#endif
    return;
  }
  let i = order[step.start + j];
  let y = labels[i];
  var top = logits[j * CP];
  var best = 0u;
  for (var c = 1u; c < C; c++) {
    let z = logits[j * CP + c];
    if (z > top) {
      top = z;
      best = c;
    }
  }
  var sum = 0.0;
  for (var c = 0u; c < C; c++) {
    sum += exp(logits[j * CP + c] - top);
  }
  let lse = top + log(sum);
  loss[i] = lse - logits[j * CP + y];
  correct[i] = select(0u, 1u, best == y);
#if ${TRAIN}
  var weights = 0.0;
  for (var k = 0u; k < step.count; k++) {
    weights += classWeight[labels[order[step.start + k]]];
  }
  let scale = classWeight[y] / weights;
  for (var c = 0u; c < CP; c++) {
    var d = 0.0;
    if (c < C) {
      d = (exp(logits[j * CP + c] - lse) - select(0.0, 1.0, c == y)) * scale;
    }
    dz[j * CP + c] = d;
  }
#endif
}
