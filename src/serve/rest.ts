/**
 * The Open Inference Protocol's REST endpoints (../shared/open-inference-protocol/open_inference_rest.yaml:
 * health, server and model metadata, model ready, infer; the version segment optional), the plain image
 * endpoint (`POST /v2/models/<name>/classify`: an image's bytes in, top-k JSON out) and `/metrics`, as
 * functions from a read request to a reply. node:http's plumbing (bodies, limits, logs) is in http.ts.
 */
import { errorReply, type Reply, type ServerState, servedModel } from './reply.js';
import type { Withdrawals } from './withdrawals.js';
import { badRequest, notFound, unavailable } from './errors.js';
import { MODEL_VERSION, type ServedModel } from './served-model.js';
import { type InferRequest, outputJson, readInferRequest } from './tensors.js';

export const SERVER_NAME = 'webgpu-resnet';
export const EXTENSIONS = ['binary_tensor_data', 'classification'];

const json = (status: number, body: unknown): Reply => ({ status, body });

/** What a path names: a model endpoint (`/v2/models/<name>[/versions/<v>][/<action>]`) or a server one. */
function modelPath(path: string): { name: string; version?: string; action: string } | undefined {
  const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer|classify))?\/?$/.exec(path);
  if (!m) return undefined;
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw badRequest(`${JSON.stringify(part)} in the path is not valid percent-encoding`);
    }
  };
  return { name: decode(m[1]!), ...(m[2] && { version: decode(m[2]) }), action: m[3] ?? '' };
}

export async function route(
  state: ServerState,
  method: string,
  url: URL,
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array,
  gone?: Promise<void>,
): Promise<Reply> {
  const path = url.pathname;
  if (method === 'GET' && path === '/v2/health/live') return json(200, { live: true });
  if (method === 'GET' && path === '/v2/health/ready') {
    const ready = state.ready();
    return json(ready ? 200 : 503, { ready });
  }
  if (method === 'GET' && (path === '/v2' || path === '/v2/'))
    return json(200, { name: SERVER_NAME, version: state.version, extensions: EXTENSIONS });
  if (method === 'GET' && path === '/metrics')
    return { status: 200, text: await state.metrics.registry.metrics(), type: state.metrics.registry.contentType };
  const at = modelPath(path);
  if (!at) return errorReply(notFound(`no endpoint ${method} ${path}`));
  const model = servedModel(state, at.name, at.version);
  if (method === 'GET' && at.action === '') return json(200, model.metadata());
  if (method === 'GET' && at.action === 'ready') {
    const ready = state.ready();
    return json(ready ? 200 : 503, { name: at.name, ready });
  }
  if (method === 'POST' && at.action === 'infer') return infer(state, model, headers, body, gone);
  if (method === 'POST' && at.action === 'classify') return classify(state, model, url, body, gone);
  return errorReply(notFound(`no endpoint ${method} ${path}`), at.name);
}

async function infer(
  state: ServerState,
  model: ServedModel,
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array,
  gone?: Promise<void>,
): Promise<Reply> {
  const header = headers['inference-header-content-length'];
  const headerLength = header === undefined ? undefined : Number(header);
  const request = readInferRequest(body, headerLength);
  const outputs = await state.withDeadline((withdrawals) => inferTensors(model, request, withdrawals), gone);
  const binaryAll = request.parameters.binary_data_output === true;
  const wanted = request.outputs ?? [];
  const parts = outputs.map((t) => {
    const binary = binaryAll || wanted.find((o) => o.name === t.name)?.parameters.binary_data === true;
    return outputJson(t, binary);
  });
  const response = {
    model_name: model.name,
    model_version: MODEL_VERSION,
    ...(request.id !== undefined && { id: request.id }),
    outputs: parts.map((p) => p.json),
  };
  const binary = parts.filter((p) => p.bytes).map((p) => p.bytes!);
  if (!binary.length) return json(200, response);
  const head = new TextEncoder().encode(JSON.stringify(response));
  return {
    status: 200,
    bytes: Buffer.concat([head, ...binary]),
    type: 'application/octet-stream',
    headers: { 'Inference-Header-Content-Length': String(head.length) },
  };
}

/** The outputs of one inference request (its input checked, its images batched with others). */
export async function inferTensors(model: ServedModel, request: InferRequest, withdrawals: Withdrawals) {
  const images = await model.images(request);
  if (images.count === 0) throw badRequest('the input holds no images (batch 0)');
  return model.outputs(request, images, withdrawals);
}

/** The plain image endpoint: the body is an image file; `?top_k=` (default 5). */
async function classify(
  state: ServerState,
  model: ServedModel,
  url: URL,
  body: Uint8Array,
  gone?: Promise<void>,
): Promise<Reply> {
  const k = Number(url.searchParams.get('top_k') ?? 5);
  if (!(Number.isInteger(k) && k >= 1))
    throw badRequest(`top_k must be a positive integer, got ${url.searchParams.get('top_k')}`);
  if (!body.length) throw badRequest('the body is empty: POST the bytes of an image (JPEG, PNG, WebP, ...)');
  const request: InferRequest = {
    parameters: {},
    inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: {}, values: [body] }],
  };
  const [probabilities] = await state.withDeadline((withdrawals) => inferTensors(model, request, withdrawals), gone);
  const predictions = model.model.top(probabilities!.values as Float32Array, k);
  return json(200, { model_name: model.name, predictions });
}

/** 503 for a request that arrives while the server drains. */
export const drainingReply = (): Reply => errorReply(unavailable('the server is shutting down: try another replica'));
