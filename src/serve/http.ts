/**
 * node:http's side of the server: reads a request's body within the size limit (413 as soon as
 * Content-Length or the bytes read pass it), hands it to the endpoints (rest.ts), writes the reply, counts
 * it in the metrics and writes one JSON access-log line. Requests in flight are counted so a drain can wait
 * for them; while draining every new request is answered 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, GRPC, ServeError, tooLarge } from './errors.js';
import { errorReply, type Reply, type ServerState } from './reply.js';
import { drainingReply, route } from './rest.js';

export interface HttpOptions {
  maxBodyBytes: number;
  log: (line: string) => void;
}

/** Reads the body whole, or rejects with 413 (`tooLarge`) past `limit` bytes, or when the client goes away. */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(`the body is ${declared} bytes, more than the limit ${limit}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(tooLarge(`the body is more than the limit of ${limit} bytes`));
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('aborted', () =>
      reject(new ServeError('the client closed the connection before the body ended', 499, GRPC.CANCELLED)),
    );
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): number {
  const headers: Record<string, string> = { ...reply.headers };
  let payload: Uint8Array | string;
  if (reply.bytes) payload = reply.bytes;
  else if (reply.text !== undefined) payload = reply.text;
  else payload = JSON.stringify(reply.body ?? {});
  headers['Content-Type'] = reply.type ?? (reply.text !== undefined ? 'text/plain' : 'application/json');
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  if (!res.headersSent) res.writeHead(reply.status, headers);
  res.end(payload);
  return Buffer.byteLength(payload);
}

/** Paths answered while draining too (readiness says so; liveness and metrics go on). */
const HEALTH = new Set(['/v2/health/live', '/v2/health/ready', '/metrics']);

function requestUrl(raw: string | undefined): URL {
  try {
    return new URL(raw ?? '/', 'http://localhost');
  } catch {
    throw badRequest(`the request target ${JSON.stringify(raw)} is not a URL path`);
  }
}

const protocolOf = (path: string) => (path.endsWith('/classify') ? 'image' : path === '/metrics' ? 'metrics' : 'rest');

/** The request handler of the server. `inFlight` counts requests being answered; `draining` refuses new ones. */
export function requestHandler(
  state: ServerState,
  options: HttpOptions,
  life: { inFlight: number; draining: boolean; settled: () => void },
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    // (a request line WHATWG URL refuses, e.g. //[ , is a 400 below, not a crash)
    let url = new URL('http://localhost/');
    life.inFlight++;
    let reply: Reply;
    let bytesIn = 0;
    try {
      url = requestUrl(req.url);
      if (life.draining && !HEALTH.has(url.pathname)) {
        reply = drainingReply();
        req.resume();
      } else {
        const body = await readBody(req, options.maxBodyBytes);
        bytesIn = body.length;
        // the client gone before its answer: its queued images are withdrawn
        const gone = new Promise<void>((resolve) => res.once('close', () => res.writableEnded || resolve()));
        reply = await route(state, req.method ?? 'GET', url, req.headers, body, gone);
      }
    } catch (err) {
      // (the model label only for a model the server has: clients do not get to add metric series)
      const name = /^\/v2\/models\/([^/]+)/.exec(url.pathname)?.[1];
      reply = errorReply(err, name && state.models.has(name) ? name : undefined);
      if (reply.status === 413) res.setHeader('Connection', 'close');
    }
    const model = reply.model ?? (reply.body as { model_name?: string } | undefined)?.model_name ?? '';
    try {
      const bytesOut = res.destroyed ? 0 : send(res, reply);
      const seconds = (performance.now() - started) / 1000;
      const protocol = protocolOf(url.pathname);
      if (protocol !== 'metrics') state.metrics.request(model || '-', protocol, reply.status, seconds);
      const line = {
        time: new Date().toISOString(),
        method: req.method,
        path: url.pathname,
        status: reply.status,
        ms: Math.round(seconds * 1e4) / 10,
        ...(model && { model }),
        bytes_in: bytesIn,
        bytes_out: bytesOut,
        ...(reply.error && { error: reply.error }),
      };
      options.log(JSON.stringify(line));
    } finally {
      life.inFlight--;
      life.settled();
    }
  };
}
