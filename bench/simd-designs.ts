/**
 * Main-loop designs for a 1x1 conv's GEMM on a CPU adapter (lavapipe), compared on the same shapes: C[M][N] =
 * A[M][K] x W[K][N], A in NHWC rows as the engine keeps activations. An experiment, not the engine: it asks
 * which way of mapping SIMD lanes to the GEMM lavapipe runs fastest, so that shaders/conv_simd.wgsl follows
 * the answer. Each design is checked against a CPU product (every 7th row) before it is timed.
 *   node dist/simd-designs.js [--shapes 3136x256x256,784x512x512] [--designs broadcast-4x4,...] [--json]
 * Designs:
 *   broadcast-RxC: today's simd loop: lanes = pixels (R per invocation, `first + r * WG`), 4C output channels
 *     per workgroup whose weights one load per lane reads and subgroupBroadcast shares; K by 4.
 *   blocked-RxC: the same with A stored in blocks of 8 pixels (lane l reads pixel 8b + l: consecutive addresses
 *     across lanes instead of a CIN-strided gather).
 *   lanes-PxQ: lanes = output channels (c0 + 8q + lane), P pixels per workgroup read uniformly (one address for
 *     the whole subgroup), weights as vec4 along K so one read per lane serves 4 k.
 *   uniform-RxC: lanes = pixels as in broadcast, but each weight row read as vec4s at one address for the whole
 *     subgroup instead of one value per lane shared by subgroupBroadcast.
 *   staged-RxC: broadcast-RxC with the workgroup's weight rows copied into workgroup memory (32 KB of rows at a
 *     time, between barriers) and read from there; stagedu-RxC reads them there at one address per subgroup.
 * --ablate A|W|AW[-workgroup] times the broadcast designs with A's and/or W's reads replaced by register arithmetic
 * or by reads of workgroup memory (unchecked).
 */
import { acquireNodeDevice } from '../src/node/gpu.js';
import { describeAdapter } from '../src/runtime/device.js';
import { whileGPU } from '../src/runtime/keep-alive.js';

interface Design {
  code: string;
  dispatch: [number, number, number];
  packA?: (a: Float32Array, m: number, k: number) => Float32Array;
  packW?: (w: Float32Array, k: number, n: number) => Float32Array;
}

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const shapes = (arg('--shapes') ?? '3136x256x256,784x512x512,196x1024x1024,49x2048x1024').split(',').map((s) => {
  const [m, k, n] = s.split('x').map(Number);
  return { m: m!, k: k!, n: n! };
});
/**
 * --ablate A, W or AW: the broadcast designs read that operand from registers instead of the storage buffer, to
 * time the loop without those reads; with -workgroup (AW-workgroup) from workgroup memory, never filled, to time
 * such reads without the copies and barriers that would fill them. Products are then wrong: no CPU check.
 */
const ablate = arg('--ablate') ?? '';
const ablated = (operand: 'A' | 'W') =>
  ablate.split('-')[0]!.includes(operand) ? (ablate.endsWith('-workgroup') ? 'workgroup' : 'registers') : undefined;
const designNames = (arg('--designs') ?? 'broadcast-4x4,broadcast-4x8,blocked-4x4,lanes-8x4,lanes-8x8').split(',');

const header = (m: number, k: number, n: number, a: string, w: string) =>
  `enable subgroups;\nconst M = ${m}u; const K = ${k}u; const N = ${n}u;\n` +
  `@group(0) @binding(0) var<storage, read> A4: array<vec4<f32>>;\n` +
  `@group(0) @binding(1) var<storage, read> ${w};\n` +
  `@group(0) @binding(2) var<storage, read_write> ${a};\n`;

/** The workgroup size (8..64) that wastes the fewest pixels on the last workgroup, as chooseSimdTile does. */
function workgroupFor(m: number, r: number): number {
  let best = 64;
  let waste = Infinity;
  for (let wg = 8; wg <= 64; wg *= 2) {
    const w = Math.ceil(m / (wg * r)) * wg * r - m;
    if (w <= waste) [best, waste] = [wg, w];
  }
  return best;
}

/** The A operand's read in the broadcast loop: from memory, or (--ablate) from registers or workgroup memory. */
function readA(i: number, blocked: boolean): string {
  if (ablated('A') === 'workgroup') return `let a${i} = As[((m${i} % 64u) * 64u + k / 4u) & 1023u];`;
  if (ablated('A')) return `let a${i} = aSeed + vec4<f32>(f32(k + ${i}u));`;
  return blocked
    ? `let a${i} = A4[((m${i} / 8u) * (K / 4u) + k / 4u) * 8u + lane];`
    : `let a${i} = A4[(m${i} * K + k) / 4u];`;
}

/** Lane `lane`'s value of the h-th 8 channels of weight row k + j in the broadcast loop (memory or --ablate). */
function readW(j: number, h: number): string {
  if (ablated('W') === 'workgroup') return `Ws[((k + ${j}u) * 16u + ${h * 8}u + lane) & 4095u]`;
  if (ablated('W')) return `f32(k + ${j + h}u) * wSeed`;
  return `W[(k + ${j}u) * N + c0 + ${h * 8}u + lane]`;
}

/**
 * What the designs whose lanes are pixels share: R pixels per invocation (`first + r * WG`), 4C output channels
 * per workgroup from c0, C vec4 accumulators per pixel updated four k at a time, the stores, the entry point.
 */
function pixelLanes(m: number, r: number, c4: number) {
  const wg = workgroupFor(m, r);
  const each = (f: (i: number, v: number) => string) =>
    Array.from({ length: r }, (_, i) => Array.from({ length: c4 }, (_, v) => f(i, v))).flat();
  return {
    wg,
    dispatch: (n: number): Design['dispatch'] => [Math.ceil(m / (wg * r)), n / (4 * c4), 1],
    declare: () =>
      Array.from({ length: r }, (_, i) => [
        `let m${i} = min(first + ${i}u * ${wg}u, M - 1u);`,
        ...Array.from({ length: c4 }, (_, v) => `var acc${i}_${v} = vec4<f32>(0.0);`),
      ]).flat(),
    /** acc += a (4 k) x b (4 rows of 4C channels, `b${j}_${v}`). */
    accumulate: () =>
      each((i, v) => {
        let e = `acc${i}_${v}`;
        for (let j = 0; j < 4; j++) e = `fma(vec4<f32>(a${i}.${'xyzw'[j]}), b${j}_${v}, ${e})`;
        return `acc${i}_${v} = ${e};`;
      }),
    store: () =>
      each(
        (i, v) =>
          `if (first + ${i}u * ${wg}u < M) { C4[((first + ${i}u * ${wg}u) * N + c0) / 4u + ${v}u] = acc${i}_${v}; }`,
      ),
    /** The shader: `declarations` of binding 1 and module scope, `lines` the body, `lane` the subgroup builtin. */
    code: (k: number, n: number, declarations: [string, string], lines: string[], lane = true) =>
      header(m, k, n, 'C4: array<vec4<f32>>', declarations[0]) +
      declarations[1] +
      `@compute @workgroup_size(${wg}) fn main(@builtin(local_invocation_id) lid: vec3<u32>, ` +
      `@builtin(workgroup_id) wid: vec3<u32>${lane ? ', @builtin(subgroup_invocation_id) lane: u32' : ''}) {\n` +
      `let first = wid.x * ${wg * r}u + lid.x; let c0 = wid.y * ${4 * c4}u;\n${lines.join('\n')}\n}`,
  };
}

/** Weight row k + j (4C channels): one value per lane read by `read(h)` per 8 channels, shared by subgroupBroadcast. */
function broadcastRow(j: number, c4: number, read: (h: number) => string): string[] {
  const loads = Array.from({ length: (4 * c4) / 8 }, (_, h) => `let w${j}_${h} = ${read(h)};`);
  const rows = Array.from({ length: c4 }, (_, v) => {
    const lanes = [0, 1, 2, 3].map(
      (t) => `subgroupBroadcast(w${j}_${Math.floor((4 * v + t) / 8)}, ${(4 * v + t) % 8}u)`,
    );
    return `let b${j}_${v} = vec4<f32>(${lanes.join(', ')});`;
  });
  return [...loads, ...rows];
}

function broadcast(m: number, k: number, n: number, r: number, c4: number, blocked: boolean): Design {
  const px = pixelLanes(m, r, c4);
  const lines = px.declare();
  if (ablate) lines.push('let aSeed = A4[first % 64u]; let wSeed = W[lane];');
  lines.push('for (var k = 0u; k < K; k += 4u) {');
  for (let i = 0; i < r; i++) lines.push(readA(i, blocked));
  for (let j = 0; j < 4; j++) lines.push(...broadcastRow(j, c4, (h) => readW(j, h)));
  lines.push(...px.accumulate(), '}', ...px.store());
  const scratch =
    (ablated('A') === 'workgroup' ? 'var<workgroup> As: array<vec4<f32>, 1024>;\n' : '') +
    (ablated('W') === 'workgroup' ? 'var<workgroup> Ws: array<f32, 4096>;\n' : '');
  const code = px.code(k, n, ['W: array<f32>', scratch], lines);
  const packA = (a: Float32Array, rows: number, cols: number) => {
    const out = new Float32Array(Math.ceil(rows / 8) * 8 * cols);
    for (let p = 0; p < rows; p++)
      for (let q = 0; q < cols; q++)
        out[((Math.floor(p / 8) * (cols / 4) + Math.floor(q / 4)) * 8 + (p % 8)) * 4 + (q % 4)] = a[p * cols + q]!;
    return out;
  };
  return { code, dispatch: px.dispatch(n), packA: blocked ? packA : undefined };
}

function uniformWeights(m: number, k: number, n: number, r: number, c4: number): Design {
  const px = pixelLanes(m, r, c4);
  const lines = [...px.declare(), 'for (var k = 0u; k < K; k += 4u) {'];
  for (let i = 0; i < r; i++) lines.push(`let a${i} = A4[(m${i} * K + k) / 4u];`);
  for (let j = 0; j < 4; j++)
    for (let v = 0; v < c4; v++) lines.push(`let b${j}_${v} = W4[((k + ${j}u) * N + c0) / 4u + ${v}u];`);
  lines.push(...px.accumulate(), '}', ...px.store());
  return { code: px.code(k, n, ['W4: array<vec4<f32>>', ''], lines, false), dispatch: px.dispatch(n) };
}

/** broadcast-RxC with the workgroup's weight rows copied into workgroup memory, KC rows at a time, between barriers. */
function staged(m: number, k: number, n: number, r: number, c4: number, uniform: boolean): Design {
  const px = pixelLanes(m, r, c4);
  const nc = 4 * c4;
  const kc = Math.min(8192 / nc, k);
  const lines = px.declare();
  lines.push(`for (var k0 = 0u; k0 < K; k0 += ${kc}u) {`, 'workgroupBarrier();');
  lines.push(`for (var t = lid.x; t < ${kc * nc}u; t += ${px.wg}u) {`);
  lines.push(`  let kk = k0 + t / ${nc}u; Ws[t] = select(0.0, W[min(kk, K - 1u) * N + c0 + t % ${nc}u], kk < K);`);
  lines.push('}', 'workgroupBarrier();');
  lines.push(`let kend = min(${kc}u, K - k0);`, 'for (var kk = 0u; kk < kend; kk += 4u) {', 'let k = k0 + kk;');
  for (let i = 0; i < r; i++) lines.push(`let a${i} = A4[(m${i} * K + k) / 4u];`);
  for (let j = 0; j < 4; j++) {
    if (!uniform) {
      lines.push(...broadcastRow(j, c4, (h) => `Ws[(kk + ${j}u) * ${nc}u + ${h * 8}u + lane]`));
      continue;
    }
    for (let v = 0; v < c4; v++) {
      const at = (t: number) => `Ws[(kk + ${j}u) * ${nc}u + ${4 * v + t}u]`;
      lines.push(`let b${j}_${v} = vec4<f32>(${[0, 1, 2, 3].map(at).join(', ')});`);
    }
  }
  lines.push(...px.accumulate(), '}', '}', ...px.store());
  const code = px.code(k, n, ['W: array<f32>', `var<workgroup> Ws: array<f32, ${kc * nc}>;\n`], lines);
  return { code, dispatch: px.dispatch(n) };
}

function channelLanes(m: number, k: number, n: number, p: number, q: number): Design {
  const lines: string[] = [];
  for (let i = 0; i < p; i++) {
    lines.push(`let m${i} = min(wid.x * ${p}u + ${i}u, M - 1u);`);
    for (let j = 0; j < q; j++) lines.push(`var acc${i}_${j} = 0.0;`);
  }
  lines.push('for (var k = 0u; k < K; k += 4u) {');
  for (let i = 0; i < p; i++) lines.push(`let a${i} = A4[(m${i} * K + k) / 4u];`);
  for (let j = 0; j < q; j++) lines.push(`let w${j} = W4[(k / 4u) * N + c0 + ${8 * j}u + lane];`);
  for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) lines.push(`acc${i}_${j} += dot(a${i}, w${j});`);
  lines.push('}');
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++)
      lines.push(
        `if (wid.x * ${p}u + ${i}u < M) { C[(wid.x * ${p}u + ${i}u) * N + c0 + ${8 * j}u + lane] = acc${i}_${j}; }`,
      );
  const code =
    header(m, k, n, 'C: array<f32>', 'W4: array<vec4<f32>>') +
    `@compute @workgroup_size(8) fn main(@builtin(workgroup_id) wid: vec3<u32>, ` +
    `@builtin(subgroup_invocation_id) lane: u32) {\nlet c0 = wid.y * ${8 * q}u;\n${lines.join('\n')}\n}`;
  const packW = (w: Float32Array, rows: number, cols: number) => {
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) out[(Math.floor(r / 4) * cols + c) * 4 + (r % 4)] = w[r * cols + c]!;
    return out;
  };
  return { code, dispatch: [Math.ceil(m / p), n / (8 * q), 1], packW };
}

function design(name: string, m: number, k: number, n: number): Design {
  const [kind, size] = name.split('-') as [string, string];
  const [a, b] = size.split('x').map(Number) as [number, number];
  if (kind === 'broadcast' || kind === 'blocked') return broadcast(m, k, n, a, b, kind === 'blocked');
  if (kind === 'lanes') return channelLanes(m, k, n, a, b);
  if (kind === 'uniform') return uniformWeights(m, k, n, a, b);
  if (kind === 'staged' || kind === 'stagedu') return staged(m, k, n, a, b, kind === 'stagedu');
  throw new Error(`unknown design ${name}`);
}

const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

async function measure(
  device: GPUDevice,
  d: Design,
  shape: { m: number; k: number; n: number },
  a: Float32Array,
  w: Float32Array,
) {
  const { m, k, n } = shape;
  const module = device.createShaderModule({ code: d.code });
  const errors = (await whileGPU(module.getCompilationInfo())).messages.filter((x) => x.type === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.message).join('\n'));
  const pipeline = await whileGPU(
    device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } }),
  );
  const data = [d.packA?.(a, m, k) ?? a, d.packW?.(w, k, n) ?? w, new Float32Array(m * n)];
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffers = data.map((x) => {
    const b = device.createBuffer({ size: x.byteLength, usage });
    device.queue.writeBuffer(b, 0, x);
    return b;
  });
  const entries = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const run = async (reps: number) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(...d.dispatch);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await whileGPU(device.queue.onSubmittedWorkDone());
  };
  await run(1);
  const readback = device.createBuffer({ size: m * n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffers[2]!, 0, readback, 0, m * n * 4);
  device.queue.submit([encoder.finish()]);
  await whileGPU(readback.mapAsync(GPUMapMode.READ));
  const c = new Float32Array(readback.getMappedRange().slice(0));
  readback.destroy();
  let err = 0;
  let max = 0;
  for (let i = 0; i < m; i += 7)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[i * k + q]! * w[q * n + j]!;
      err = Math.max(err, Math.abs(c[i * n + j]! - s));
      max = Math.max(max, Math.abs(s));
    }
  const reps = Math.min(40, Math.max(3, Math.round(3e8 / (m * k * n))));
  const times: number[] = [];
  for (let t = 0; t < 3; t++) {
    const t0 = performance.now();
    await run(reps);
    times.push((performance.now() - t0) / reps);
  }
  for (const b of buffers) b.destroy();
  return { ms: times.sort((x, y) => x - y)[1]!, error: err / max };
}

const { adapter, device, release } = await acquireNodeDevice();
const rows: Array<{ shape: string; design: string; ms: number; gflops: number; error: number }> = [];
for (const shape of shapes) {
  const a = random(shape.m * shape.k);
  const w = random(shape.k * shape.n);
  for (const name of designNames) {
    const r = await measure(device, design(name, shape.m, shape.k, shape.n), shape, a, w);
    const row = { shape: `${shape.m}x${shape.k}x${shape.n}`, design: name, ...r };
    rows.push({ ...row, gflops: (2 * shape.m * shape.k * shape.n) / r.ms / 1e6 });
    if (!ablate && r.error > 1e-4)
      throw new Error(`${name} on ${row.shape}: max error ${r.error.toExponential(2)} of the largest`);
  }
}
release();
if (process.argv.includes('--json')) console.log(JSON.stringify({ adapter: describeAdapter(adapter), ablate, rows }));
else {
  const by = ablate.endsWith('-workgroup') ? 'reads of workgroup memory' : 'register arithmetic';
  const note = ablate ? `\nreads of ${ablate.split('-')[0]} replaced by ${by}: timings only, products unchecked` : '';
  console.log(`adapter: ${describeAdapter(adapter)}${note}\n\n| M x K x N | ${designNames.join(' | ')} |`);
  console.log(`| --- |${designNames.map(() => ' --- |').join('')}`);
  for (const shape of new Set(rows.map((r) => r.shape))) {
    const cells = rows
      .filter((r) => r.shape === shape)
      .map((r) => `${r.ms.toFixed(2)} ms (${r.gflops.toFixed(1)} GF/s)`);
    console.log(`| ${shape} | ${cells.join(' | ')} |`);
  }
}
