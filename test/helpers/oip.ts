/**
 * The Open Inference Protocol's own REST description (../shared/open-inference-protocol/open_inference_rest.yaml,
 * unchanged) as a response validator (openapi-response-validator: a library, not a hand-written check), and
 * small HTTP helpers for the server tests.
 */
import { readFile } from 'node:fs/promises';
import OpenAPIResponseValidator from 'openapi-response-validator';
import { parse } from 'yaml';
import { sharedPath } from './needs.js';

type Spec = {
  paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>>;
  components: object;
};

/** validate(operationId, status, body): the validator's errors, or undefined when the response is valid. */
export async function oipValidator(): Promise<(operationId: string, status: number, body: unknown) => unknown> {
  const spec = parse(await readFile(sharedPath('open-inference-protocol', 'open_inference_rest.yaml'), 'utf8')) as Spec;
  const operations = new Map<string, Record<string, unknown>>();
  for (const path of Object.values(spec.paths))
    for (const op of Object.values(path)) if (op?.operationId) operations.set(op.operationId, op.responses);
  return (operationId, status, body) => {
    const responses = operations.get(operationId);
    if (!responses) throw new Error(`no operation ${operationId} in open_inference_rest.yaml`);
    if (!responses[String(status)]) return { message: `status ${status} is not a response of ${operationId}` };
    // a response without a content schema (the health endpoints) has nothing more to check
    const schemas = Object.fromEntries(
      Object.entries(responses).map(([code, r]) => {
        const schema = (r as { content?: { 'application/json'?: { schema?: object } } }).content?.['application/json']
          ?.schema;
        return [code, { schema: schema ?? {} }];
      }),
    );
    const validator = new OpenAPIResponseValidator({ responses: schemas, components: spec.components as never });
    return validator.validateResponse(String(status), body);
  };
}

/** The operationIds of the protocol's endpoints (as the YAML names them). */
export const OPERATIONS = {
  live: 'get-v2-health-live',
  ready: 'get-v2-health-ready',
  serverMetadata: 'get-v2',
  modelMetadata: 'get-v2-models-$-modelName-versions-$-modelVersion',
  modelReady: 'get-v2-models-$-modelName-versions-$-modelVersion-ready',
  infer: 'post-v2-models-$-MODEL_NAME-versions-$-MODEL_VERSION-infer',
};

export interface HttpReply {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  json: () => unknown;
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpReply> {
  const res = await fetch(url, init);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, json: () => JSON.parse(new TextDecoder().decode(bytes)) };
}

export const postJson = (url: string, body: unknown): Promise<HttpReply> =>
  request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
