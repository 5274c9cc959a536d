/**
 * `createServer`: models behind the Open Inference Protocol (REST: rest.ts, http.ts; gRPC: grpc.ts), with dynamic
 * batching per model (batcher.ts), Prometheus metrics (metrics.ts), a request timeout and a drain: `drain()`
 * makes readiness false, stops accepting connections, answers new requests on open ones 503, lets the requests
 * in flight finish (up to `drainTimeoutMs`) and closes. `webgpu-resnet serve` (src/cli/serve.ts) is this plus
 * SIGTERM. docs/serve.md says what each option does.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServerCredentials } from '@grpc/grpc-js';
import type { ResNetModel } from '../api/model.js';
import type { NodeImage } from '../node.js';
import { GRPC, ServeError, timedOut } from './errors.js';
import { grpcServer } from './grpc.js';
import { requestHandler } from './http.js';
import { ServerMetrics } from './metrics.js';
import type { ServerState } from './reply.js';
import { Withdrawals } from './withdrawals.js';
import { ServedModel } from './served-model.js';

export interface ServeOptions {
  /** The models, by the name clients use (`/v2/models/<name>`). */
  models: Record<string, ResNetModel<NodeImage>>;
  /** Images per GPU batch at most (default 8; lower where the model's GPU memory allows fewer). */
  maxBatch?: number;
  /** How long a request may wait for others to fill its batch, ms (default 5). */
  maxQueueDelayMs?: number;
  /** Images that may wait per model (default 64 x maxBatch); beyond, 503 with Retry-After. */
  maxQueue?: number;
  /** Largest request body (REST) or message (gRPC), bytes (default 64 MiB); beyond, 413 / RESOURCE_EXHAUSTED. */
  maxBodyBytes?: number;
  /** A request's time from its body read to its answer, ms (default 30000); beyond, 504. */
  requestTimeoutMs?: number;
  /** A client's time to send its headers and body, ms (default 60000); beyond, node:http answers 408 and closes. */
  bodyTimeoutMs?: number;
  /** How long a drain waits for requests in flight, ms (default 30000). */
  drainTimeoutMs?: number;
  /** Where the JSON access-log lines go (default: stdout). */
  log?: (line: string) => void;
  /** The version the server metadata reports. */
  version?: string;
}

export interface InferenceServer {
  readonly http: Server;
  readonly metrics: ServerMetrics;
  /** Listens on `port` (0: any free one) of `host` (default 127.0.0.1); resolves with the port. */
  listen(port?: number, host?: string): Promise<number>;
  /** The gRPC service on its own port (0: any free one; default 8001, Triton's); resolves with the port. */
  listenGrpc(port?: number, host?: string): Promise<number>;
  /** Stops taking requests, lets those in flight finish (at most drainTimeoutMs), closes. Resolves true if all
   * finished. */
  drain(): Promise<boolean>;
}

export function createServer(options: ServeOptions): InferenceServer {
  const maxBatch = options.maxBatch ?? 8;
  const batching = {
    maxBatch,
    maxQueueDelayMs: options.maxQueueDelayMs ?? 5,
    maxQueue: options.maxQueue ?? 64 * maxBatch,
  };
  const models = new Map<string, ServedModel>();
  const metrics = new ServerMetrics(() => [...models.values()]);
  for (const [name, model] of Object.entries(options.models))
    models.set(name, new ServedModel(name, model, batching, (m, run) => metrics.batch(m, run)));
  const timeout = options.requestTimeoutMs ?? 30_000;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const life = { inFlight: 0, draining: false, settled: () => {} };
  const state: ServerState = {
    version: options.version ?? '0',
    models,
    metrics,
    ready: () => !life.draining && models.size > 0,
    async withDeadline(work, gone) {
      const withdrawals = new Withdrawals();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        const stop = (err: ServeError) => {
          withdrawals.withdraw();
          reject(err);
        };
        timer = setTimeout(() => stop(timedOut(`no answer within the request timeout (${timeout} ms)`)), timeout);
        gone?.then(() => stop(new ServeError('the client went away before the answer', 499, GRPC.CANCELLED)));
      });
      try {
        return await Promise.race([work(withdrawals), deadline]);
      } catch (err) {
        withdrawals.withdraw(); // (a failed request leaves none of its jobs queued)
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  // slow clients: the whole request within bodyTimeoutMs (checked every second by node:http)
  const requestTimeout = options.bodyTimeoutMs ?? 60_000;
  const http = createHttpServer(
    { requestTimeout, headersTimeout: Math.min(requestTimeout, 60_000), connectionsCheckingInterval: 1000 },
    requestHandler(state, { maxBodyBytes, log }, life),
  );
  let grpc: ReturnType<typeof grpcServer> | undefined;
  return {
    http,
    metrics,
    listen: (port = 8000, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => resolve((http.address() as AddressInfo).port));
      }),
    listenGrpc: (port = 8001, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        grpc = grpcServer(state, () => life.draining, maxBodyBytes);
        // (insecure: plain HTTP/2, as the REST side is plain HTTP; TLS belongs to the ingress or mesh)
        grpc.bindAsync(`${host}:${port}`, grpcCredentials(), (err, bound) => (err ? reject(err) : resolve(bound)));
      }),
    drain: async () => {
      const timeout = options.drainTimeoutMs ?? 30_000;
      const [rest, rpc] = await Promise.all([drain(http, life, timeout), grpc && shutdownGrpc(grpc, timeout)]);
      return rest && rpc !== false;
    },
  };
}

/** Waits for the gRPC calls in flight (at most `timeoutMs`), then closes; true if they all finished. */
function shutdownGrpc(server: ReturnType<typeof grpcServer>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve(false);
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const grpcCredentials = () => ServerCredentials.createInsecure();

async function drain(
  http: Server,
  life: { inFlight: number; draining: boolean; settled: () => void },
  timeoutMs: number,
): Promise<boolean> {
  life.draining = true;
  const closed = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  const finished = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    life.settled = () => {
      if (life.inFlight === 0) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    life.settled();
  });
  http.closeAllConnections();
  await closed;
  return finished;
}
