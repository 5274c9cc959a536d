// Softmax over each row of [N, C], one workgroup per row: max, then sum of exp, then normalize.
// Bindings (declared from SOFTMAX_BINDINGS in src/kernels/dense.ts): input, output.

const C = ${C}u;
const WG = 256u;

var<workgroup> scratch: array<f32, WG>;

fn reduce(li: u32, isMax: bool) -> f32 {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      if (isMax) {
        scratch[li] = max(scratch[li], scratch[li + s]);
      } else {
        scratch[li] += scratch[li + s];
      }
    }
    workgroupBarrier();
  }
  let r = scratch[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = wid.x * C;
  var m = -3.0e38;
  for (var c = li; c < C; c += WG) {
    m = max(m, input[row + c]);
  }
  scratch[li] = m;
  let rowMax = reduce(li, true);
  var s = 0.0;
  for (var c = li; c < C; c += WG) {
    s += exp(input[row + c] - rowMax);
  }
  scratch[li] = s;
  let total = reduce(li, false);
  for (var c = li; c < C; c += WG) {
    output[row + c] = exp(input[row + c] - rowMax) / total;
  }
}
