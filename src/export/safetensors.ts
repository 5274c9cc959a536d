/**
 * Tensors -> a safetensors file (the format torchvision/timm state_dicts travel in; read by
 * src/loaders/safetensors.ts): F32, F16 (as raw halves) and I8 data, little-endian, with string metadata.
 */

export type SafetensorsDtype = 'F32' | 'F16' | 'I8';

export interface TensorToWrite {
  name: string;
  shape: number[];
  /** F32: Float32Array; F16: Uint16Array of half bits; I8: Int8Array. */
  data: Float32Array | Uint16Array | Int8Array;
  /** Default F32 (or what the data's type implies). */
  dtype?: SafetensorsDtype;
}

const dtypeOf = (t: TensorToWrite): SafetensorsDtype =>
  t.dtype ?? (t.data instanceof Int8Array ? 'I8' : t.data instanceof Uint16Array ? 'F16' : 'F32');

/**
 * A safetensors file: 8-byte little-endian header length, JSON header (space padded to 8), data. Tensors
 * are laid out widest dtype first (each stays aligned to its element size), in the given order otherwise.
 */
export function writeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const ordered = [...tensors].sort((a, b) => b.data.BYTES_PER_ELEMENT - a.data.BYTES_PER_ELEMENT);
  let offset = 0;
  for (const t of ordered) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new Error(`writeSafetensors: ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
    header[t.name] = { dtype: dtypeOf(t), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((new TextEncoder().encode(json).length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of ordered) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
