/**
 * Model files fetched from URLs, kept across visits in the Cache API (browsers; Node has none unless one
 * is given): a file is read from the cache when it is there and whole, else fetched and stored. Each
 * stored entry records its byte count; an entry whose body does not have it (a write cut short, storage
 * trouble) is dropped and fetched again. Keyed by URL: a new model version needs a new URL, or
 * clearModelCache().
 */
import type { WeightsOrigin } from './formats.js';
import type { FileSource } from './source.js';

/** The Cache API bucket the engine keeps weight files in. */
export const WEIGHTS_CACHE = 'webgpu-resnet-weights-v1';
const BYTES_HEADER = 'x-webgpu-resnet-bytes';

/** A FileSource that also says where the files it read came from. */
export interface CachingSource extends FileSource {
  origin(): WeightsOrigin | undefined;
}

/** The global CacheStorage, if this runtime has one. */
export const defaultCacheStorage = (): CacheStorage | undefined => (globalThis as { caches?: CacheStorage }).caches;

/** `network` read through `storage`'s WEIGHTS_CACHE bucket. Cache failures never fail a load: the network is used. */
export function cachingSource(network: FileSource, storage: CacheStorage): CachingSource {
  const seen = new Set<'network' | 'cache'>();
  const bucket = storage.open(WEIGHTS_CACHE).catch(() => undefined);
  return {
    describe: network.describe,
    origin: () => (seen.size === 0 ? undefined : seen.size === 2 ? 'mixed' : [...seen][0]),
    async read(path, onBytes) {
      const url = network.describe(path);
      const cache = await bucket;
      const hit = await cache?.match(url).catch(() => undefined);
      if (hit) {
        const want = Number(hit.headers.get(BYTES_HEADER));
        const bytes = new Uint8Array(await hit.arrayBuffer().catch(() => new ArrayBuffer(0)));
        if (Number.isInteger(want) && bytes.length === want) {
          seen.add('cache');
          onBytes?.(bytes.length);
          return bytes;
        }
        await cache!.delete(url).catch(() => false);
      }
      const bytes = await network.read(path, onBytes);
      seen.add('network');
      await cache
        ?.put(
          url,
          new Response(bytes.slice().buffer, {
            headers: { [BYTES_HEADER]: String(bytes.length), 'content-type': 'application/octet-stream' },
          }),
        )
        .catch(() => undefined);
      return bytes;
    },
  };
}

/** Empties the weight cache (browsers); resolves to whether there was one. */
export async function clearModelCache(storage: CacheStorage | undefined = defaultCacheStorage()): Promise<boolean> {
  return storage ? storage.delete(WEIGHTS_CACHE) : false;
}
