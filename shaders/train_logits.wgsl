// Training a classification head: the logits of examples order[start .. start + count), z = x W + b, x
// their rows of standardized features (train_standardize.wgsl). Each invocation computes a tile of 4 rows x 4 classes:
// per 4
// features, 4 vec4 loads of x and 4 of W feed 16 vec4 FMAs. (Measured on lavapipe against a class per
// invocation with 8 rows, with and without subgroup broadcasts of the rows: this is as fast as either,
// and needs no subgroups.) Workgroups are small (LOGITS_WORKGROUP in src/kernels/train.ts): a minibatch of
// 32 rows and 20 classes is 40 invocations, and on a CPU adapter one workgroup runs on one core.
// Bindings (declared from TRAIN_LOGITS_BINDINGS in src/kernels/train.ts): step (a Step uniform), rows
// ([examples][F4] vec4), order (example indices), params (W [F4 * 4][C4] vec4, then b [C4]), logits
// ([count][C4]).

const F4 = ${F4}u;
const C4 = ${C4}u;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x % C4;
  let j = (gid.x / C4) * 4u;
  if (j >= step.count) {
    return;
  }
  // a row past the count reads the last one; its result is not stored
  let last = step.count - 1u;
  let r0 = order[step.start + j] * F4;
  let r1 = order[step.start + min(j + 1u, last)] * F4;
  let r2 = order[step.start + min(j + 2u, last)] * F4;
  let r3 = order[step.start + min(j + 3u, last)] * F4;
  let bias = params[F4 * 4u * C4 + q];
  var z0 = bias;
  var z1 = bias;
  var z2 = bias;
  var z3 = bias;
  for (var f = 0u; f < F4; f++) {
    let w0 = params[(4u * f) * C4 + q];
    let w1 = params[(4u * f + 1u) * C4 + q];
    let w2 = params[(4u * f + 2u) * C4 + q];
    let w3 = params[(4u * f + 3u) * C4 + q];
    let x0 = rows[r0 + f];
    let x1 = rows[r1 + f];
    let x2 = rows[r2 + f];
    let x3 = rows[r3 + f];
    z0 = fma(vec4(x0.x), w0, fma(vec4(x0.y), w1, fma(vec4(x0.z), w2, fma(vec4(x0.w), w3, z0))));
    z1 = fma(vec4(x1.x), w0, fma(vec4(x1.y), w1, fma(vec4(x1.z), w2, fma(vec4(x1.w), w3, z1))));
    z2 = fma(vec4(x2.x), w0, fma(vec4(x2.y), w1, fma(vec4(x2.z), w2, fma(vec4(x2.w), w3, z2))));
    z3 = fma(vec4(x3.x), w0, fma(vec4(x3.y), w1, fma(vec4(x3.z), w2, fma(vec4(x3.w), w3, z3))));
  }
  logits[j * C4 + q] = z0;
  if (j + 1u < step.count) {
    logits[(j + 1u) * C4 + q] = z1;
  }
  if (j + 2u < step.count) {
    logits[(j + 2u) * C4 + q] = z2;
  }
  if (j + 3u < step.count) {
    logits[(j + 3u) * C4 + q] = z3;
  }
}
