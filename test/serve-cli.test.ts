/**
 * `webgpu-resnet serve` as a user runs it (dist/cli.js): two models by --model name=source, the listening line,
 * and SIGTERM under load: every request it accepted is answered 200, readiness goes false, new connections are
 * refused, and it exits 0 within --drain-timeout.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { goldenModel } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { packageRoot } from '../src/node/paths.js';
import { sharedPath } from './helpers/needs.js';
import { request } from './helpers/oip.js';

let work: string;
let photo: Buffer<ArrayBuffer>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-serve-'));
  await mkdir(join(work, 'mnt-models'));
  await writeFile(join(work, 'mnt-models', 'r18.safetensors'), writeSafetensors(goldenModel(18).params));
  photo = Buffer.from(await readFile(sharedPath('data', 'imagenet-sample', '250_n02110185_Siberian_husky.JPEG')));
});
afterAll(() => rm(work, { recursive: true, force: true }));

it('serves two models and drains on SIGTERM under load: no accepted request lost, exit 0', async () => {
  // a: a weights file; b: a folder holding one, as KServe's storage initializer fills /mnt/models
  const weights = join(work, 'mnt-models', 'r18.safetensors');
  const args = [
    'serve',
    '--model',
    `a=${weights}`,
    '--model',
    `b=${join(work, 'mnt-models')}`,
    '--input-size',
    '96',
    '--port',
    '0',
    '--grpc-port',
    '0',
  ];
  const child = spawn(process.execPath, [join(packageRoot(), 'dist', 'cli.js'), ...args, '--drain-timeout', '20']);
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  while (!stdout.includes('"listening"')) {
    if (child.exitCode !== null) throw new Error(`serve exited: ${stdout}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const listening = JSON.parse(stdout.split('\n').find((l) => l.includes('"listening"'))!);
  expect(listening.models.map((m: { name: string }) => m.name)).toEqual(['a', 'b']);
  const base = `http://127.0.0.1:${listening.port}`;
  expect((await request(`${base}/v2/models/b/ready`)).status).toBe(200);
  const load = Array.from({ length: 8 }, (_, i) =>
    request(`${base}/v2/models/${i % 2 ? 'a' : 'b'}/classify`, { method: 'POST', body: photo }),
  );
  await new Promise((r) => setTimeout(r, 50)); // the requests are read (accepted) before the signal
  child.kill('SIGTERM');
  const codes = (await Promise.all(load)).map((r) => r.status);
  const after = await request(`${base}/v2/health/ready`).then(
    (r) => `${r.status}`,
    (err) => `refused (${(err as Error).cause ? ((err as Error).cause as { code?: string }).code : 'error'})`,
  );
  const code = await exited;
  console.log(`SIGTERM under load: answers ${codes.join(', ')}; a new request then: ${after}; exit ${code}`);
  expect(codes).toEqual(Array(8).fill(200));
  expect(after).toMatch(/^(503|refused)/);
  expect(code).toBe(0);
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{"event"'))
    .map((l) => JSON.parse(l).event);
  expect(events).toEqual(['listening', 'draining', 'stopped']);
  const log = stdout.split('\n').filter((l) => l.includes('"path":"/v2/models/'));
  expect(log.length).toBeGreaterThanOrEqual(9);
});
