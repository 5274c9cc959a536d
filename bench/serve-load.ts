/**
 * npm run bench:serve [-- --weights <file> --input-size N --seconds 60 --clients 16,64 --max-batch 8,1 --out <file.json>]
 * Loopback load on `webgpu-resnet serve` (the built CLI in a child process, so its memory is its own): autocannon
 * POSTs a photo, preprocessed, as FP32 in Triton's binary extension, asking for the top-1 (classification 1), and
 * checks every answer against the photo's class as the server's image endpoint gives it alone. For each client
 * count, with dynamic batching (--max-batch N) and without (--max-batch 1), in one run: req/s, p50/p99 latency,
 * errors and wrong answers, the mean batch size from /metrics, the server's resident memory before and after
 * (give a client count twice, e.g. --clients 16,64,64, to see whether it stays flat once warm).
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { decodeImage } from '../src/node/image.js';
import { packageRoot } from '../src/node/paths.js';
import { CAFFE_PREPROCESSING, preprocessImage } from '../src/preprocess/preprocess.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const seconds = Number(flag('--seconds', '60'));
const clients = flag('--clients', '16,64').split(',').map(Number);
/** --max-batch values to compare, one server each (default 8 and 1: batching against none). */
const maxBatches = flag('--max-batch', '8,1').split(',').map(Number);
const weights = flag('--weights', '');
const size = Number(flag('--input-size', '224'));
const photoFile = join(packageRoot(), '..', 'shared', 'data', 'imagenet-sample', '250_n02110185_Siberian_husky.JPEG');

/** `webgpu-resnet serve` in a child process; resolves when it listens. */
async function startServer(batch: number) {
  const cli = join(packageRoot(), 'dist', 'cli.js');
  const model = weights ? ['--model', `m=${weights}`] : [];
  const child = spawn(process.execPath, [
    cli,
    'serve',
    ...model,
    '--input-size',
    String(size),
    '--port',
    '0',
    '--grpc-port',
    '0',
    '--max-batch',
    String(batch),
    '--max-queue-delay-ms',
    '5',
    // room for every client's request: a load test of the batching, not of the queue limit (test/serve-faults.test.ts)
    '--max-queue',
    '1024',
    '--request-timeout-ms',
    '120000',
  ]);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.resume();
  while (!out.includes('"listening"')) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const listening = JSON.parse(out.split('\n').find((l) => l.includes('"listening"'))!);
  return { child, base: `http://127.0.0.1:${listening.port}`, name: listening.models[0].name as string };
}

/** The values of a metric in /metrics (summed over its label sets). */
async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
}

async function load(base: string, name: string, body: Buffer, headerLength: number, expected: string, n: number) {
  let right = 0;
  let wrong = 0;
  const before = {
    batches: await metric(base, 'webgpu_resnet_batch_size_count'),
    images: await metric(base, 'webgpu_resnet_batch_size_sum'),
  };
  const rssStart = await metric(base, 'process_resident_memory_bytes');
  const result = await autocannon({
    url: `${base}/v2/models/${name}/infer`,
    connections: n,
    timeout: 120,
    duration: seconds,
    method: 'POST',
    headers: { 'Inference-Header-Content-Length': String(headerLength), 'Content-Type': 'application/octet-stream' },
    body,
    requests: [
      {
        onResponse: (status: number, text: string) => {
          const top = status === 200 ? (JSON.parse(text).outputs[0].data[0] as string).split(':')[1] : undefined;
          if (top === expected) right++;
          else wrong++;
        },
      },
    ],
  });
  const batches = (await metric(base, 'webgpu_resnet_batch_size_count')) - before.batches;
  const images = (await metric(base, 'webgpu_resnet_batch_size_sum')) - before.images;
  return {
    clients: n,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
    right,
    wrong,
    meanBatch: batches ? images / batches : 0,
    rssStartMB: Math.round(rssStart / 1e5) / 10,
    rssEndMB: Math.round((await metric(base, 'process_resident_memory_bytes')) / 1e5) / 10,
    // where it is: the JS heap in use and ArrayBuffers outside it (request bodies, tensors)
    heapEndMB: Math.round((await metric(base, 'nodejs_heap_size_used_bytes')) / 1e5) / 10,
    externalEndMB: Math.round((await metric(base, 'nodejs_external_memory_bytes')) / 1e5) / 10,
  };
}

const photo = await readFile(photoFile);
const x = preprocessImage(await decodeImage(photo), {
  ...CAFFE_PREPROCESSING,
  resizeTo: Math.round(size / 0.875),
  cropTo: size,
});
const rows = [];
for (const batch of maxBatches) {
  const server = await startServer(batch);
  try {
    const alone = await (
      await fetch(`${server.base}/v2/models/${server.name}/classify?top_k=1`, { method: 'POST', body: photo })
    ).json();
    const expected = String(alone.predictions[0].index);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'input',
            datatype: 'FP32',
            shape: [1, size, size, 3],
            parameters: { binary_data_size: x.byteLength },
          },
        ],
        outputs: [{ name: 'probabilities', parameters: { classification: 1 } }],
      }),
    );
    const body = Buffer.concat([header, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]);
    for (const n of clients) {
      const row = { maxBatch: batch, ...(await load(server.base, server.name, body, header.length, expected, n)) };
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.on('exit', r));
  }
}
const table = [
  '| clients | max batch | req/s | p50 ms | p99 ms | requests | errors | wrong | mean batch | RSS start -> end MB |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.clients} | ${r.maxBatch} | ${r.requestsPerSecond.toFixed(2)} | ${r.p50Ms} | ${r.p99Ms} | ${r.requests} | ${r.errors} | ${r.wrong} | ${r.meanBatch.toFixed(2)} | ${r.rssStartMB} -> ${r.rssEndMB} |`,
  ),
].join('\n');
console.log(table);
const out = flag('--out', '');
if (out)
  await writeFile(
    out,
    JSON.stringify(
      { date: new Date().toISOString(), seconds, size, weights: weights || 'pretrained ResNet-50', rows },
      null,
      2,
    ),
  );
