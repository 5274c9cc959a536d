/**
 * The weight cache for URL sources (src/loaders/url-cache.ts), in Node with a CacheStorage of the test's
 * own (Node has no Cache API; the browser test checks the real one): a second load reads no weight file
 * from the network, a truncated entry is dropped and fetched again, a broken cache never fails a load.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/export/safetensors.js';
import { createModel } from '../src/api/create.js';
import { loadFromUrl } from '../src/loaders/url-model.js';
import { cachingSource, clearModelCache, WEIGHTS_CACHE } from '../src/loaders/url-cache.js';
import { memorySource } from '../src/loaders/source.js';
import { nodePlatform } from '../src/node.js';
import { goldenInput, goldenModel } from '../scripts/golden-model.js';

/** A CacheStorage over Maps, as much of the API as the engine uses. */
function memoryCaches(): CacheStorage & { buckets: Map<string, Map<string, Response>> } {
  const buckets = new Map<string, Map<string, Response>>();
  const bucket = (name: string) => {
    if (!buckets.has(name)) buckets.set(name, new Map());
    const entries = buckets.get(name)!;
    return {
      match: async (url: string) => entries.get(url)?.clone(),
      put: async (url: string, response: Response) => void entries.set(url, response),
      delete: async (url: string) => entries.delete(url),
    };
  };
  return {
    buckets,
    open: async (name: string) => bucket(name),
    delete: async (name: string) => buckets.delete(name),
  } as unknown as CacheStorage & { buckets: Map<string, Map<string, Response>> };
}

let server: Server;
let base: string;
const requests: string[] = [];
const file = writeSafetensors(goldenModel(18).params);

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url!);
    if (req.url !== '/r18.safetensors') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': file.length }).end(file);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
});
afterAll(() => {
  server.close();
});

describe('weight cache for URL sources', () => {
  it('a second load reads no weight file from the network and says so; clearModelCache empties it', async () => {
    const caches = memoryCaches();
    const platform = nodePlatform();
    const input = goldenInput().subarray(0, 3 * 224 * 224);
    const logits: Float32Array[] = [];
    for (const expected of ['network', 'cache'] as const) {
      requests.length = 0;
      const loaded = await loadFromUrl(`${base}r18.safetensors`, {}, caches);
      expect(loaded.origin).toBe(expected);
      expect(requests).toEqual(expected === 'network' ? ['/r18.safetensors'] : []);
      const model = await createModel(loaded, {}, platform);
      expect(model.info.weightsFrom).toBe(expected);
      logits.push(await model.infer(input, { layout: 'nchw', output: 'logits' }));
      model.dispose();
    }
    expect(logits[1]).toEqual(logits[0]);
    expect(await clearModelCache(caches)).toBe(true);
    expect(caches.buckets.has(WEIGHTS_CACHE)).toBe(false);
    requests.length = 0;
    expect((await loadFromUrl(`${base}r18.safetensors`, { cache: false }, undefined)).origin).toBe('network');
    expect(requests).toEqual(['/r18.safetensors']);
  });

  it('a truncated or mislabelled entry is dropped and fetched again; a cache that fails is bypassed', async () => {
    const files = { 'a.bin': new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) };
    let reads = 0;
    const network = memorySource(files, 'https://example.test/m');
    const counted = {
      describe: network.describe,
      read: (p: string, on?: (d: number) => void) => {
        reads++;
        return network.read(p, on);
      },
    };
    const caches = memoryCaches();
    const url = network.describe('a.bin');
    (await caches.open(WEIGHTS_CACHE)).put(
      url,
      new Response(new Uint8Array([1, 2, 3]), { headers: { 'x-webgpu-resnet-bytes': '8' } }),
    );
    const source = cachingSource(counted, caches);
    expect(await source.read('a.bin')).toEqual(files['a.bin']);
    expect(reads).toBe(1);
    expect(source.origin()).toBe('network');
    const again = cachingSource(counted, caches);
    expect(await again.read('a.bin')).toEqual(files['a.bin']);
    expect(reads).toBe(1);
    expect(again.origin()).toBe('cache');
    const broken = {
      open: () => Promise.reject(new Error('quota')),
      delete: () => Promise.reject(new Error('quota')),
    } as unknown as CacheStorage;
    const bypassed = cachingSource(counted, broken);
    expect(await bypassed.read('a.bin')).toEqual(files['a.bin']);
    expect(bypassed.origin()).toBe('network');
  });
});
