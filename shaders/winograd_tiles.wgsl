// Winograd F(mxm, 3x3) (src/kernels/winograd.ts): the tiles of m x m output pixels and the entry point of the
// transforms, one invocation per tile and 4 channels (CHANNELS4: the input's for winograd_input.wgsl and
// winograd4_input.wgsl, the output's for winograd_output.wgsl and winograd4_output.wgsl, each of which
// defines transform(job)). The transformed tensors hold vec4 [points][rows][CHANNELS4], rows = batch * TILES:
// point xi of a tile's 4 channels at xi * job.stride + job.at.

const TILE = ${TILE}u; // m
const TILES_W = ${TILES_W}u;
const TILES = ${TILES}u; // tiles per image: ceil(H / m) * ceil(W / m)
const CHANNELS4 = ${CHANNELS4}u;
const WORKGROUP_SIZE = ${WORKGROUP_SIZE}u;

struct TileJob {
  c4: u32,
  n: u32,
  // the tile's first output pixel
  y: u32,
  x: u32,
  // where its values are in a transformed tensor, and from one transform point to the next
  at: u32,
  stride: u32,
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let rows = params.batch * TILES;
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= rows * CHANNELS4) {
    return;
  }
  let tile = i / CHANNELS4;
  let t = tile % TILES;
  transform(TileJob(i % CHANNELS4, tile / TILES, TILE * (t / TILES_W), TILE * (t % TILES_W), i, rows * CHANNELS4));
}
