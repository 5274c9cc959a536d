/**
 * Open Inference Protocol tensors on the wire: an inference request's JSON (and Triton's binary tensor data
 * extension: the JSON header, `Inference-Header-Content-Length` bytes, then each input's raw bytes in order,
 * sized by its `binary_data_size` parameter) read into typed values; outputs written back as JSON data or as
 * raw bytes after the header. FP32 and UINT8 are little-endian; BYTES elements are, in binary, a 4-byte
 * little-endian length and the bytes, in JSON a string (base64 for binary data such as an encoded image).
 */
import { badRequest } from './errors.js';

/** The datatypes the server reads and writes. */
export type Datatype = 'FP32' | 'UINT8' | 'BYTES';
const DATATYPES: readonly string[] = ['FP32', 'UINT8', 'BYTES'];

export interface RequestTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  parameters: Record<string, unknown>;
  /** FP32: Float32Array; UINT8: Uint8Array; BYTES: one Uint8Array per element. */
  values: Float32Array | Uint8Array | Uint8Array[];
}

export interface RequestedOutput {
  name: string;
  parameters: Record<string, unknown>;
}

export interface InferRequest {
  id?: string;
  parameters: Record<string, unknown>;
  inputs: RequestTensor[];
  outputs?: RequestedOutput[];
}

export interface ResponseTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  values: Float32Array | string[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The request in `body`: JSON alone, or (`headerLength` given) a JSON header followed by binary input data. */
export function readInferRequest(body: Uint8Array, headerLength?: number): InferRequest {
  if (
    headerLength !== undefined &&
    !(Number.isInteger(headerLength) && headerLength >= 0 && headerLength <= body.length)
  )
    throw badRequest(
      `Inference-Header-Content-Length ${headerLength} is not a length within the body (${body.length} bytes)`,
    );
  const header = headerLength === undefined ? body : body.subarray(0, headerLength);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(header));
  } catch (err) {
    throw badRequest(`the request body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw badRequest('the request body must be a JSON object (an inference request)');
  if (!Array.isArray(json.inputs) || json.inputs.length === 0)
    throw badRequest('the request must have "inputs", an array of at least one tensor');
  let binary = headerLength === undefined ? new Uint8Array(0) : body.subarray(headerLength);
  const inputs = json.inputs.map((input: unknown, i: number) => {
    const tensor = readTensor(input, i, binary);
    binary = binary.subarray(tensor.bytes);
    return tensor.tensor;
  });
  if (binary.length) throw badRequest(`${binary.length} bytes of binary data after the inputs' binary_data_size bytes`);
  const outputs = json.outputs === undefined ? undefined : readOutputs(json.outputs);
  return {
    ...(typeof json.id === 'string' && { id: json.id }),
    parameters: isObject(json.parameters) ? json.parameters : {},
    inputs,
    ...(outputs && { outputs }),
  };
}

function readOutputs(outputs: unknown): RequestedOutput[] {
  if (!Array.isArray(outputs)) throw badRequest('"outputs" must be an array of {"name": ...}');
  return outputs.map((o, i) => {
    if (!isObject(o) || typeof o.name !== 'string') throw badRequest(`outputs[${i}] must be an object with a "name"`);
    return { name: o.name, parameters: isObject(o.parameters) ? o.parameters : {} };
  });
}

function readTensor(input: unknown, i: number, binary: Uint8Array): { tensor: RequestTensor; bytes: number } {
  if (!isObject(input) || typeof input.name !== 'string')
    throw badRequest(`inputs[${i}] must be an object with a "name"`);
  const { name } = input;
  const where = `input ${name}`;
  if (typeof input.datatype !== 'string' || !DATATYPES.includes(input.datatype))
    throw badRequest(`${where}: datatype ${JSON.stringify(input.datatype)} is not accepted (${DATATYPES.join(', ')})`);
  const datatype = input.datatype as Datatype;
  const shape = input.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw badRequest(`${where}: shape ${JSON.stringify(shape)} must be an array of non-negative integers`);
  const parameters = isObject(input.parameters) ? input.parameters : {};
  const size = parameters.binary_data_size;
  if (size !== undefined) {
    if (!(Number.isSafeInteger(size) && (size as number) >= 0 && (size as number) <= binary.length))
      throw badRequest(`${where}: binary_data_size ${size} is more than the ${binary.length} binary bytes left`);
    const raw = binary.subarray(0, size as number);
    return { tensor: tensorOf({ name, datatype, shape, parameters }, { raw }), bytes: raw.length };
  }
  if (input.data === undefined) throw badRequest(`${where}: no "data" (and no binary_data_size parameter)`);
  return { tensor: tensorOf({ name, datatype, shape, parameters }, { data: input.data }), bytes: 0 };
}

/**
 * A tensor from its header and its values: `raw` bytes (the binary extension's, gRPC's raw_input_contents) or
 * `data` (JSON data, gRPC's typed contents as an array).
 */
export function tensorOf(
  head: { name: string; datatype: string; shape: number[]; parameters: Record<string, unknown> },
  values: { raw: Uint8Array } | { data: unknown },
): RequestTensor {
  const where = `input ${head.name}`;
  if (!DATATYPES.includes(head.datatype))
    throw badRequest(`${where}: datatype ${JSON.stringify(head.datatype)} is not accepted (${DATATYPES.join(', ')})`);
  const datatype = head.datatype as Datatype;
  const parsed =
    'raw' in values
      ? binaryValues(values.raw, datatype, head.shape, where)
      : jsonValues(values.data, datatype, head.shape, where);
  return { ...head, datatype, values: parsed };
}

/** An output's values as raw bytes (the binary extension's and gRPC's raw_output_contents). */
export const rawBytes = (values: Float32Array | string[]): Uint8Array =>
  values instanceof Float32Array ? littleEndian(values) : bytesElements(values);

function binaryValues(raw: Uint8Array, datatype: Datatype, shape: number[], where: string): RequestTensor['values'] {
  const n = count(shape);
  if (datatype === 'BYTES') {
    const out: Uint8Array[] = [];
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let at = 0;
    while (at < raw.length) {
      if (at + 4 > raw.length) throw badRequest(`${where}: a BYTES element's 4-byte length is cut short`);
      const length = view.getUint32(at, true);
      if (at + 4 + length > raw.length)
        throw badRequest(`${where}: a BYTES element of ${length} bytes runs past its binary data`);
      out.push(raw.slice(at + 4, at + 4 + length));
      at += 4 + length;
    }
    if (out.length !== n) throw badRequest(`${where}: ${out.length} BYTES elements for shape [${shape}] (${n})`);
    return out;
  }
  const per = datatype === 'FP32' ? 4 : 1;
  if (raw.length !== n * per)
    throw badRequest(`${where}: ${raw.length} bytes of binary data for ${datatype} [${shape}] (${n * per} expected)`);
  if (datatype === 'UINT8') return raw.slice();
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
}

/** JSON data, flat or nested in row-major order. */
function jsonValues(data: unknown, datatype: Datatype, shape: number[], where: string): RequestTensor['values'] {
  const flat = Array.isArray(data) ? (data as unknown[]).flat(Number.POSITIVE_INFINITY) : [data];
  const n = count(shape);
  if (flat.length !== n) throw badRequest(`${where}: ${flat.length} values for shape [${shape}] (${n} expected)`);
  if (datatype === 'BYTES') {
    return flat.map((v, i) => {
      if (v instanceof Uint8Array) return v;
      if (typeof v !== 'string') throw badRequest(`${where}: BYTES element ${i} is not a string (base64)`);
      return new Uint8Array(Buffer.from(v, 'base64'));
    });
  }
  if (datatype === 'UINT8') {
    const bad = flat.findIndex((v) => !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255));
    if (bad >= 0) throw badRequest(`${where}: UINT8 element ${bad} is ${JSON.stringify(flat[bad])}, not 0..255`);
    return Uint8Array.from(flat as number[]);
  }
  const bad = flat.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad >= 0) throw badRequest(`${where}: FP32 element ${bad} is ${JSON.stringify(flat[bad])}, not a finite number`);
  return Float32Array.from(flat as number[]);
}

/** An output as the response's JSON: data inline, or (binary) its size, the bytes going after the header. */
export function outputJson(t: ResponseTensor, binary: boolean): { json: Json; bytes?: Uint8Array } {
  const base = { name: t.name, datatype: t.datatype, shape: t.shape };
  if (!binary) return { json: { ...base, data: Array.from(t.values as ArrayLike<number | string>) } };
  const bytes = rawBytes(t.values);
  return { json: { ...base, parameters: { binary_data_size: bytes.length } }, bytes };
}

function littleEndian(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (const [i, v] of values.entries()) view.setFloat32(4 * i, v, true);
  return out;
}

function bytesElements(values: string[]): Uint8Array {
  const encoded = values.map((v) => new TextEncoder().encode(v));
  const out = new Uint8Array(encoded.reduce((n, e) => n + 4 + e.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of encoded) {
    view.setUint32(at, e.length, true);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}
