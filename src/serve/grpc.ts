/**
 * The Open Inference Protocol over gRPC (proto/open_inference_grpc.proto, the protocol's own file, unchanged):
 * ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata and ModelInfer on @grpc/grpc-js, answered
 * by the same models, batchers and metrics as REST. Inputs come as raw_input_contents (as Triton's clients send
 * them) or typed contents (fp32_contents, uint_contents for UINT8, bytes_contents); outputs go back as
 * raw_output_contents. Errors carry the gRPC code of their HTTP status (INVALID_ARGUMENT, NOT_FOUND,
 * UNAVAILABLE with a full queue or while draining, DEADLINE_EXCEEDED).
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { GPUUnavailableError, InputError } from '../errors.js';
import { packageRoot } from '../node/paths.js';
import { GRPC, ServeError, unavailable } from './errors.js';
import { type ServerState, servedModel } from './reply.js';
import { EXTENSIONS, inferTensors, SERVER_NAME } from './rest.js';
import { MODEL_VERSION, type ServedModel } from './served-model.js';
import { type InferRequest, rawBytes, type RequestTensor, tensorOf } from './tensors.js';

type Message = Record<string, unknown>;
type Parameter = { parameter_choice?: string } & Record<string, unknown>;

/** The service definition, read from the protocol's .proto shipped in the package. */
function service(): grpc.ServiceDefinition {
  const definition = loadSync(join(packageRoot(), 'proto', 'open_inference_grpc.proto'), {
    keepCase: true,
    longs: Number,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } };
  };
  return pkg.inference.GRPCInferenceService.service;
}

const parameters = (map: Record<string, Parameter> | undefined): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(map ?? {}).map(([k, p]) => [k, p.parameter_choice ? p[p.parameter_choice] : undefined]),
  );

const CONTENTS: Record<string, string> = { FP32: 'fp32_contents', UINT8: 'uint_contents', BYTES: 'bytes_contents' };

/** A ModelInferRequest as the REST side's InferRequest. */
function inferRequest(m: Message): InferRequest {
  const raw = (m.raw_input_contents as Uint8Array[] | undefined) ?? [];
  const inputs = (m.inputs as Message[]).map((t, i): RequestTensor => {
    const head = {
      name: String(t.name),
      datatype: String(t.datatype),
      shape: (t.shape as number[]).map(Number),
      parameters: parameters(t.parameters as Record<string, Parameter>),
    };
    if (raw.length) return tensorOf(head, { raw: raw[i] ?? new Uint8Array(0) });
    const contents = (t.contents as Record<string, unknown[]> | null) ?? {};
    return tensorOf(head, { data: contents[CONTENTS[head.datatype] ?? 'fp32_contents'] ?? [] });
  });
  const outputs = (m.outputs as Message[]).map((o) => ({
    name: String(o.name),
    parameters: parameters(o.parameters as Record<string, Parameter>),
  }));
  return {
    ...(m.id ? { id: String(m.id) } : {}),
    parameters: parameters(m.parameters as Record<string, Parameter>),
    inputs,
    ...(outputs.length && { outputs }),
  };
}

/** An error as a gRPC status. */
function status(err: unknown): Partial<grpc.StatusObject> {
  const code =
    err instanceof ServeError
      ? err.grpcCode
      : err instanceof InputError
        ? GRPC.INVALID_ARGUMENT
        : err instanceof GPUUnavailableError
          ? GRPC.UNAVAILABLE
          : GRPC.INTERNAL;
  return { code, details: err instanceof Error ? err.message : String(err) };
}

export function grpcServer(state: ServerState, draining: () => boolean, maxMessageBytes: number): grpc.Server {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxMessageBytes });
  const model = (name: unknown, version: unknown): ServedModel =>
    servedModel(state, String(name), version ? String(version) : undefined);
  /** A unary handler: `answer` runs unless the server drains; errors become statuses; each call is counted. */
  const unary =
    (answer: (m: Message, call: grpc.ServerUnaryCall<Message, Message>) => Promise<Message> | Message) =>
    (call: grpc.ServerUnaryCall<Message, Message>, done: grpc.sendUnaryData<Message>) => {
      const started = performance.now();
      const asked = String(call.request.model_name || call.request.name || '');
      const name = state.models.has(asked) ? asked : '-'; // (clients do not get to add metric series)
      (async () => {
        if (draining()) throw unavailable('the server is shutting down: try another replica');
        return answer(call.request, call);
      })().then(
        (reply) => {
          state.metrics.request(name, 'grpc', 'OK', (performance.now() - started) / 1000);
          done(null, reply);
        },
        (err) => {
          const s = status(err);
          state.metrics.request(name, 'grpc', s.code!, (performance.now() - started) / 1000);
          done(s as grpc.ServiceError);
        },
      );
    };
  server.addService(service(), {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: state.ready() })),
    ModelReady: unary((m) => ({ ready: state.ready() && Boolean(model(m.name, m.version)) })),
    ServerMetadata: unary(() => ({ name: SERVER_NAME, version: state.version, extensions: EXTENSIONS })),
    ModelMetadata: unary((m) => model(m.name, m.version).metadata()),
    ModelInfer: unary(async (m, call) => {
      const served = model(m.model_name, m.model_version);
      const request = inferRequest(m);
      const gone = new Promise<void>((resolve) => call.once('cancelled', () => resolve()));
      const outputs = await state.withDeadline((withdrawals) => inferTensors(served, request, withdrawals), gone);
      return {
        model_name: served.name,
        model_version: MODEL_VERSION,
        id: request.id ?? '',
        outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        raw_output_contents: outputs.map((t) => rawBytes(t.values)),
      };
    }),
  });
  return server;
}
