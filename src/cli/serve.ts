/**
 * `webgpu-resnet serve`: loads the models (`--model name=source`, repeatable; default the pretrained ResNet-50 as
 * `resnet50`), each able to recover from a lost GPU device, serves them (src/serve/server.ts) and drains on
 * SIGTERM or SIGINT: readiness false, no new requests, those in flight answered, exit 0 (1 if the drain timed out).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ResNetModel } from '../api/model.js';
import { loadResNet, type NodeImage } from '../node.js';
import { createServer } from '../serve/server.js';
import { loadOptions, numberFlag, type Parsed, positiveIntegerFlag, UsageError } from './args.js';

/** `--model name=source` values (default: the pretrained model as resnet50). */
function modelSources(args: Parsed): Array<[string, string | undefined]> {
  const given = args.flags.get('--model');
  if (typeof given !== 'string') return [['resnet50', undefined]];
  const pairs = given.split('\n').map((v): [string, string] => {
    const at = v.indexOf('=');
    const name = at > 0 ? v.slice(0, at) : '';
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) || at === v.length - 1)
      throw new UsageError(`--model must be name=source (a name of letters, digits, _ . -), got ${v}`);
    return [name, v.slice(at + 1)];
  });
  const names = pairs.map(([n]) => n);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`--model ${twice} is given twice`);
  return pairs;
}

/**
 * A folder KServe's storage initializer filled with one weights file (/mnt/models/<file>) is that file; any other
 * path (a file, a hub or TF.js folder with its config.json / model.json) is what loadResNet reads.
 */
export function weightsIn(path: string): string {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return path;
  const names = readdirSync(path);
  if (names.includes('config.json') || names.includes('model.json')) return path;
  const weights = names.filter((n) => /\.(safetensors|onnx)$/.test(n));
  return weights.length === 1 ? join(path, weights[0]!) : path;
}

export async function serve(args: Parsed): Promise<number> {
  const sources = modelSources(args);
  const portFlag = (flag: string, fallback: number) =>
    numberFlag(args, flag, fallback, (n) => Number.isInteger(n) && n >= 0 && n < 65536, 'a port number');
  const port = portFlag('--port', 8000);
  const grpcPort = portFlag('--grpc-port', 8001);
  const integer = (flag: string, fallback: number) =>
    numberFlag(args, flag, fallback, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
  const maxBatch = positiveIntegerFlag(args, '--max-batch', 8);
  const options = {
    maxBatch,
    maxQueueDelayMs: integer('--max-queue-delay-ms', 5),
    maxQueue: positiveIntegerFlag(args, '--max-queue', 64 * maxBatch),
    maxBodyBytes:
      numberFlag(args, '--max-body-mb', 64, (n) => Number.isInteger(n) && n >= 1 && n <= 2047, 'an integer 1..2047') *
      1024 *
      1024,
    requestTimeoutMs: positiveIntegerFlag(args, '--request-timeout-ms', 30_000),
    drainTimeoutMs: integer('--drain-timeout', 30) * 1000,
  };
  const models: Record<string, ResNetModel<NodeImage>> = {};
  try {
    for (const [name, source] of sources)
      models[name] = await loadResNet({
        ...loadOptions(args),
        ...(source && { source: weightsIn(source) }),
        recover: true,
      });
    const server = createServer({ ...options, models, version: process.env.npm_package_version });
    const host = (args.flags.get('--host') as string | undefined) ?? '127.0.0.1';
    const bound = await server.listen(port, host);
    const grpcBound = await server.listenGrpc(grpcPort, host);
    const described = Object.entries(models).map(([name, m]) => ({ name, architecture: m.info.architecture }));
    console.log(
      JSON.stringify({ event: 'listening', host, port: bound, grpcPort: grpcBound, models: described, ...options }),
    );
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    console.log(JSON.stringify({ event: 'draining', signal }));
    const finished = await server.drain();
    console.log(JSON.stringify({ event: 'stopped', drained: finished }));
    return finished ? 0 : 1;
  } finally {
    for (const m of Object.values(models)) m.dispose();
  }
}
