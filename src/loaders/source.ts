/**
 * Where model files come from. A loader reads a main file (model.json) and the files it names, all
 * relative to one base: a folder (Node), a URL (fetch, browser and Node), or files held in memory.
 */
import { ModelFormatError } from '../errors.js';

export interface FileSource {
  /** Full human-readable location of `path`, for messages. */
  describe(path: string): string;
  /** Reads a whole file; `onBytes(delta)` reports progress as bytes arrive. */
  read(path: string, onBytes?: (delta: number) => void): Promise<Uint8Array>;
}

/** Refuses paths that could leave the model's folder: absolute, `..`, backslashes, URLs. */
export function checkRelativePath(path: string, from: string): void {
  if (
    path.length === 0 ||
    path.startsWith('/') ||
    path.includes('\\') ||
    /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) ||
    path.split('/').some((part) => part === '..' || part === '.')
  ) {
    throw new ModelFormatError(
      `${from}: refusing file path ${JSON.stringify(path)}: weight files must sit in the model's folder (no '..', ` +
        `no absolute paths or URLs)`,
    );
  }
}

/** Files in memory, keyed by relative path. */
export function memorySource(files: Record<string, Uint8Array | ArrayBuffer | string>, label = 'memory'): FileSource {
  return {
    describe: (path) => `${label}:${path}`,
    async read(path, onBytes) {
      const file = files[path];
      if (file === undefined)
        throw new ModelFormatError(
          `${label}:${path}: missing (not among the files given: ${Object.keys(files).join(', ') || 'none'})`,
        );
      const bytes =
        typeof file === 'string'
          ? new TextEncoder().encode(file)
          : file instanceof Uint8Array
            ? file
            : new Uint8Array(file);
      onBytes?.(bytes.length);
      return bytes;
    },
  };
}

/** Files under a base URL, fetched (fetchWhole); the length is checked against Content-Length when the server sends
 * one. */
export function urlSource(base: string | URL): FileSource {
  const baseUrl = new URL('.', base);
  const resolve = (path: string) => new URL(path, baseUrl).href;
  return {
    describe: resolve,
    read: (path, onBytes) => fetchWhole(resolve(path), onBytes),
  };
}

/** The whole body of `url`; a failed request, an HTTP error or a body cut short is a ModelFormatError naming the URL.
 * */
export async function fetchWhole(url: string, onBytes?: (delta: number) => void): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new ModelFormatError(`${url}: request failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!response.ok) throw new ModelFormatError(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const reader = response.body?.getReader();
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        total += value.length;
        onBytes?.(value.length);
      }
    } else {
      const buf = new Uint8Array(await response.arrayBuffer());
      chunks.push(buf);
      total = buf.length;
      onBytes?.(total);
    }
  } catch (err) {
    throw new ModelFormatError(
      `${url}: download cut short after ${total} bytes: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (!encoded && Number.isFinite(declared) && declared !== total) {
    throw new ModelFormatError(
      `${url}: received ${total} bytes, the server announced ${declared} (download cut short?)`,
    );
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
