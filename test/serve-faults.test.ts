/**
 * The server under faults (src/serve/), each case recording what the client saw and checking that the server
 * answers normally afterwards: a 100 MB body (declared, and streamed without a length), a body cut short, a
 * client too slow to send its body, a flood over the queue limit, a request past its timeout, and the GPU
 * device lost while requests are in flight. SIGTERM under load: test/serve-cli.test.ts.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenModel } from '../scripts/golden-model.js';
import type { ResNetModel } from '../src/api/model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { loadResNet, type NodeImage } from '../src/node.js';
import { createServer, type ServeOptions } from '../src/serve.js';
import { sharedPath } from './helpers/needs.js';
import { request } from './helpers/oip.js';

let model: ResNetModel<NodeImage>;
let photo: Buffer<ArrayBuffer>;
const seen: string[] = [];

beforeAll(async () => {
  const weights = writeSafetensors(goldenModel(18).params);
  model = await loadResNet({ source: { safetensors: weights }, inputSize: 96, recover: true });
  photo = Buffer.from(await readFile(sharedPath('data', 'imagenet-sample', '250_n02110185_Siberian_husky.JPEG')));
});
afterAll(() => {
  model?.dispose();
  console.log(`\n| fault | what the client saw |\n| --- | --- |\n${seen.join('\n')}`);
});

async function serving(options: Partial<ServeOptions> = {}) {
  const server = createServer({ models: { r18: model }, log: () => {}, ...options });
  const port = await server.listen(0);
  const base = `http://127.0.0.1:${port}`;
  /** The server still classifies a photo. */
  const healthy = async () => {
    const r = await request(`${base}/v2/models/r18/classify`, { method: 'POST', body: photo });
    expect(r.status).toBe(200);
  };
  return { server, port, base, healthy };
}

/** POSTs `chunks` (with Content-Length `length`, or chunked); resolves with the status or the connection's error. */
function post(port: number, path: string, chunks: Iterable<Buffer>, length?: number): Promise<string> {
  return new Promise((resolve) => {
    const headers = length === undefined ? {} : { 'Content-Length': String(length) };
    const req = httpRequest({ port, path, method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${res.statusCode}`));
    });
    req.on('error', (err) => resolve(`connection error ${(err as NodeJS.ErrnoException).code}`));
    (async () => {
      for (const chunk of chunks) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      req.end();
    })().catch(() => {});
  });
}

describe('the server under faults', () => {
  it('100 MB bodies: 413 at once for a declared length, 413 past the limit when streamed; then serves', async () => {
    const s = await serving({ maxBodyBytes: 1 << 20 });
    const mb = Buffer.alloc(1 << 20, 7);
    const declared = await post(s.port, '/v2/models/r18/infer', Array(100).fill(mb), 100 << 20);
    const streamed = await post(s.port, '/v2/models/r18/infer', Array(100).fill(mb));
    seen.push(`| 100 MB body, Content-Length | ${declared} |`, `| 100 MB body, chunked | ${streamed} |`);
    // (the server may close the connection while the client still writes: it then sees the reset, not the 413)
    expect(declared).toMatch(/^(413|connection error E(PIPE|CONNRESET))$/);
    expect(streamed).toMatch(/^(413|connection error E(PIPE|CONNRESET))$/);
    await s.healthy();
    await s.server.drain();
  });

  it('a body cut short and a client too slow to send its body: the connection dropped or 408, nothing else', async () => {
    const s = await serving({ bodyTimeoutMs: 1500 });
    const cut = await new Promise<string>((resolve) => {
      const socket = connect(s.port, '127.0.0.1', () => {
        socket.write('POST /v2/models/r18/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"inputs": [');
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve('closed by the client'));
    });
    const slow = await new Promise<string>((resolve) => {
      let answer = '';
      const socket = connect(s.port, '127.0.0.1', () => {
        socket.write('POST /v2/models/r18/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
        const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
        socket.on('close', () => clearInterval(trickle));
      });
      socket.on('data', (d) => {
        answer += d.toString();
      });
      socket.on('close', () => resolve(answer.split('\r\n')[0] || 'closed without an answer'));
    });
    seen.push(`| body cut short | ${cut}; the server still answers |`, `| 1 byte per 200 ms | ${slow} |`);
    expect(slow).toMatch(/^(HTTP\/1.1 408|closed without an answer)/);
    await s.healthy();
    await s.server.drain();
  });

  it('a request line that is no URL, bad percent-encoding, more images than the queue holds: 400 / 413, then serves', async () => {
    const s = await serving({ maxQueue: 16 });
    const raw = await new Promise<string>((resolve) => {
      let answer = '';
      const socket = connect(s.port, '127.0.0.1', () =>
        socket.write('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      );
      socket.on('data', (d) => {
        answer += d.toString();
      });
      socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    });
    const encoding = await request(`${s.base}/v2/models/%E0%A4%A/ready`);
    const pixels = {
      inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [20, 1, 1, 3], data: new Array(60).fill(0) }],
    };
    const many = await request(`${s.base}/v2/models/r18/infer`, { method: 'POST', body: JSON.stringify(pixels) });
    seen.push(
      `| GET //[ | ${raw} |`,
      `| /v2/models/%E0%A4%A/ready | ${encoding.status} |`,
      `| 20 images, queue of 16 | ${many.status} ${(many.json() as { error: string }).error} |`,
    );
    expect(raw).toBe('HTTP/1.1 400 Bad Request');
    expect(encoding.status).toBe(400);
    expect(many.status).toBe(413);
    await s.healthy();
    await s.server.drain();
  });

  it('a flood over the queue limit: 503 with Retry-After for the overflow, 200 for the rest, then serves', async () => {
    const s = await serving({ maxBatch: 1, maxQueue: 2, maxQueueDelayMs: 0 });
    const replies = await Promise.all(
      Array.from({ length: 16 }, () => request(`${s.base}/v2/models/r18/classify`, { method: 'POST', body: photo })),
    );
    const codes = replies.map((r) => r.status);
    const refused = replies.filter((r) => r.status === 503);
    seen.push(`| 16 at once, queue of 2 | ${codes.filter((c) => c === 200).length} x 200, ${refused.length} x 503 |`);
    expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    expect((refused[0]!.json() as { error: string }).error).toMatch(/queue is full/);
    await s.healthy();
    await s.server.drain();
  });

  it('clients that go away while queued: their images are withdrawn, not computed', async () => {
    // (a batch of 16 that waits up to 2 s: the 8 requests are still queued when their clients go, on any adapter)
    const s = await serving({ maxBatch: 16, maxQueueDelayMs: 2000 });
    const images = async () => {
      const text = new TextDecoder().decode((await request(`${s.base}/metrics`)).bytes);
      return Number(/^webgpu_resnet_batch_size_sum\{model="r18"\} (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const aborted = Array.from({ length: 8 }, () =>
      request(`${s.base}/v2/models/r18/classify`, {
        method: 'POST',
        body: photo,
        signal: AbortSignal.timeout(300),
      }).then(
        () => 'answered',
        () => 'aborted',
      ),
    );
    const seen8 = await Promise.all(aborted);
    await s.healthy();
    const computed = await images();
    seen.push(
      `| 8 clients gone after 300 ms, then 1 | ${seen8.filter((x) => x === 'aborted').length} aborted; ${computed} images computed in all |`,
    );
    expect(seen8).toEqual(Array(8).fill('aborted'));
    expect(computed).toBe(1);
    await s.server.drain();
  });

  it('a request past its timeout: 504 naming it; the server goes on', async () => {
    const s = await serving({ requestTimeoutMs: 1 });
    const r = await request(`${s.base}/v2/models/r18/classify`, { method: 'POST', body: photo });
    seen.push(`| request timeout 1 ms | ${r.status} ${(r.json() as { error: string }).error} |`);
    expect(r.status).toBe(504);
    expect((r.json() as { error: string }).error).toMatch(/request timeout \(1 ms\)/);
    await s.server.drain();
    const t = await serving();
    await t.healthy();
    await t.server.drain();
  });

  it('the GPU device lost under load: requests in flight are retried on a new device, then it serves on', async () => {
    const s = await serving({ maxBatch: 2, maxQueueDelayMs: 10 });
    const lost = model.device;
    const load = Array.from({ length: 6 }, () =>
      request(`${s.base}/v2/models/r18/classify`, { method: 'POST', body: photo }),
    );
    setTimeout(() => lost.destroy(), 20);
    const codes = (await Promise.all(load)).map((r) => r.status);
    seen.push(`| device destroyed under load (6 requests) | ${codes.join(', ')} |`);
    expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
    await s.healthy();
    expect(model.device).not.toBe(lost);
    await s.server.drain();
  });
});
