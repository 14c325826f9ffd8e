/**
 * The Open Inference Protocol (KServe v2) HTTP/REST inference messages, with Triton's binary tensor data extension:
 * request and response bodies to and from engine tensors, for the server and for the remote engine alike.
 * Binary tensor data is little-endian (the byte order of every platform Node ships for but s390x).
 */
import { TrtnError } from '../errors.js';
import type { DType, Feeds, TensorData, TypedArray } from '../engine/types.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../data/float16.js';
import { arrayType, dtypeOfProtocol, elementBytes, protocolType, PROTOCOL_TYPES } from './dtypes.js';

export const BINARY_HEADER = 'inference-header-content-length';

/** A protocol error: the HTTP status travels in details.status; the body is {"error": message}. */
export function protocolError(status: number, code: 'ERR_INVALID_ARG' | 'ERR_SHAPE' | 'ERR_DTYPE' | 'ERR_INFERENCE' | 'ERR_UNSUPPORTED', message: string, tensor?: string): TrtnError {
  return new TrtnError(code, message, { status, ...(tensor ? { tensor } : {}) });
}

/** What the server knows about an input of the model it serves: dtype and shape with -1 for a free dim. */
export interface ExpectedInput {
  name: string;
  dtype: DType;
  /** Full shape the request must carry; -1 is any size (the batch dimension when the model batches). */
  shape: number[];
}

export interface DecodedRequest {
  id?: string;
  feeds: Feeds;
  /** Requested outputs in order and whether each comes back binary; undefined: all outputs, JSON unless binary_data_output. */
  outputs?: { name: string; binary: boolean }[];
  binaryOutput: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Split a body into its JSON header and binary tail by the Inference-Header-Content-Length header. */
export function splitBody(body: Uint8Array, headerLength: string | undefined): { json: unknown; binary: Uint8Array } {
  let jsonEnd = body.byteLength;
  if (headerLength !== undefined) {
    const n = /^[0-9]+$/.test(headerLength.trim()) ? Number(headerLength.trim()) : NaN;
    if (!(Number.isSafeInteger(n) && n <= body.byteLength)) {
      throw protocolError(400, 'ERR_INVALID_ARG', `Inference-Header-Content-Length '${headerLength}' must be an integer no larger than the body (${body.byteLength} bytes)`);
    }
    jsonEnd = n;
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, jsonEnd).toString('utf8'));
  } catch (err) {
    throw protocolError(400, 'ERR_INVALID_ARG', `malformed JSON in the request body: ${(err as Error).message}`);
  }
  return { json, binary: body.subarray(jsonEnd) };
}

function flatten(data: unknown, out: unknown[]): void {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(data);
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = { int8: [-128, 127], uint8: [0, 255], int32: [-(2 ** 31), 2 ** 31 - 1], int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] };

/** JSON tensor data (nested or flat) into a typed array of `dtype`, each element checked. */
function fromJsonData(data: unknown, dtype: DType, n: number, tensor: string, role = 'input'): TypedArray {
  if (!Array.isArray(data)) throw protocolError(400, 'ERR_INVALID_ARG', `${role} '${tensor}': "data" must be an array`, tensor);
  const flat: unknown[] = [];
  flatten(data, flat);
  if (flat.length !== n) throw protocolError(400, 'ERR_SHAPE', `${role} '${tensor}' has ${flat.length} elements; its shape needs ${n}`, tensor);
  const out = new (arrayType(dtype))(n);
  const range = INT_RANGE[dtype];
  for (let i = 0; i < n; i++) {
    const v = flat[i];
    if (dtype === 'bool') {
      if (typeof v !== 'boolean') throw protocolError(400, 'ERR_DTYPE', `${role} '${tensor}' element ${i} is ${JSON.stringify(v)}; BOOL takes true or false`, tensor);
      out[i] = v ? 1 : 0;
    } else if (typeof v !== 'number') {
      throw protocolError(400, 'ERR_DTYPE', `${role} '${tensor}' element ${i} is ${JSON.stringify(v)}; ${protocolType(dtype)} takes numbers`, tensor);
    } else if (range) {
      if (!(Number.isInteger(v) && v >= range[0] && v <= range[1])) throw protocolError(400, 'ERR_DTYPE', `${role} '${tensor}' element ${i} (${v}) is not a ${protocolType(dtype)} value`, tensor);
      if (dtype === 'int64') (out as BigInt64Array)[i] = BigInt(v);
      else out[i] = v;
    } else {
      out[i] = dtype === 'float16' ? float32ToFloat16Bits(v) : v;
    }
  }
  return out;
}

/** Bytes (copied, so the typed array is aligned) into a typed array of `dtype`. */
function fromBytes(bytes: Uint8Array, dtype: DType): TypedArray {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new (arrayType(dtype))(copy.buffer, 0, bytes.byteLength / elementBytes(dtype));
}

function checkShape(shape: unknown, tensor: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw protocolError(400, 'ERR_SHAPE', `input '${tensor}': "shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`, tensor);
  }
  return shape as number[];
}

/**
 * A parsed inference request body into feeds checked against the model's inputs: every input given once, the
 * datatype the model takes, a shape that fits, data of the right length (JSON or binary), binary sizes that add up.
 */
export function decodeInferRequest(body: Uint8Array, headerLength: string | undefined, inputs: readonly ExpectedInput[], outputNames: readonly string[]): DecodedRequest {
  const { json, binary } = splitBody(body, headerLength);
  if (!isObject(json)) throw protocolError(400, 'ERR_INVALID_ARG', 'the inference request must be a JSON object');
  if (json.id !== undefined && typeof json.id !== 'string') throw protocolError(400, 'ERR_INVALID_ARG', '"id" must be a string');
  if (json.parameters !== undefined && !isObject(json.parameters)) throw protocolError(400, 'ERR_INVALID_ARG', '"parameters" must be an object');
  if (!Array.isArray(json.inputs) || json.inputs.length === 0) throw protocolError(400, 'ERR_INVALID_ARG', '"inputs" must be a non-empty array');
  const feeds: Feeds = {};
  let offset = 0;
  for (const raw of json.inputs as unknown[]) {
    if (!isObject(raw) || typeof raw.name !== 'string') throw protocolError(400, 'ERR_INVALID_ARG', 'each input must be an object with a "name"');
    const name = raw.name;
    const expected = inputs.find((i) => i.name === name);
    if (!expected) throw protocolError(400, 'ERR_INVALID_ARG', `unexpected input '${name}' (the model's inputs: ${inputs.map((i) => i.name).join(', ')})`, name);
    if (feeds[name]) throw protocolError(400, 'ERR_INVALID_ARG', `input '${name}' is given more than once`, name);
    if (typeof raw.datatype !== 'string' || !(PROTOCOL_TYPES as readonly string[]).includes(raw.datatype)) {
      throw protocolError(400, 'ERR_DTYPE', `input '${name}': unknown datatype ${JSON.stringify(raw.datatype)} (one of ${PROTOCOL_TYPES.join(', ')})`, name);
    }
    if (raw.datatype !== protocolType(expected.dtype)) throw protocolError(400, 'ERR_DTYPE', `input '${name}' is ${raw.datatype}; the model takes ${protocolType(expected.dtype)}`, name);
    const shape = checkShape(raw.shape, name);
    const fits = shape.length === expected.shape.length && shape.every((d, i) => (expected.shape[i] === -1 ? d >= 1 : d === expected.shape[i]));
    if (!fits) throw protocolError(400, 'ERR_SHAPE', `input '${name}' has shape [${shape.join(', ')}]; the model takes [${expected.shape.join(', ')}] (-1: any size)`, name);
    const n = count(shape);
    const params = raw.parameters;
    if (params !== undefined && !isObject(params)) throw protocolError(400, 'ERR_INVALID_ARG', `input '${name}': "parameters" must be an object`, name);
    const size = params?.binary_data_size;
    let data: TypedArray;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || (size as number) < 0) throw protocolError(400, 'ERR_INVALID_ARG', `input '${name}': binary_data_size must be a non-negative integer`, name);
      if (raw.data !== undefined) throw protocolError(400, 'ERR_INVALID_ARG', `input '${name}' has both "data" and binary_data_size`, name);
      if (size !== n * elementBytes(expected.dtype)) throw protocolError(400, 'ERR_SHAPE', `input '${name}': binary_data_size ${String(size)} but shape [${shape.join(', ')}] of ${raw.datatype} needs ${n * elementBytes(expected.dtype)} bytes`, name);
      if (offset + (size as number) > binary.byteLength) throw protocolError(400, 'ERR_INVALID_ARG', `input '${name}': the body holds ${binary.byteLength - offset} binary bytes for it, binary_data_size says ${String(size)}`, name);
      data = fromBytes(binary.subarray(offset, offset + (size as number)), expected.dtype);
      offset += size as number;
    } else {
      if (raw.data === undefined) throw protocolError(400, 'ERR_INVALID_ARG', `input '${name}' has neither "data" nor parameters.binary_data_size`, name);
      data = fromJsonData(raw.data, expected.dtype, n, name);
    }
    feeds[name] = { data, dims: shape, dtype: expected.dtype };
  }
  if (offset !== binary.byteLength) throw protocolError(400, 'ERR_INVALID_ARG', `the body has ${binary.byteLength - offset} binary bytes no input claims (check binary_data_size and Inference-Header-Content-Length)`);
  const missing = inputs.find((i) => !feeds[i.name]);
  if (missing) throw protocolError(400, 'ERR_INVALID_ARG', `input '${missing.name}' is missing`, missing.name);
  const binaryOutput = json.parameters?.binary_data_output === true;
  let outputs: DecodedRequest['outputs'];
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs)) throw protocolError(400, 'ERR_INVALID_ARG', '"outputs" must be an array');
    outputs = (json.outputs as unknown[]).map((o) => {
      if (!isObject(o) || typeof o.name !== 'string') throw protocolError(400, 'ERR_INVALID_ARG', 'each requested output must be an object with a "name"');
      if (!outputNames.includes(o.name)) throw protocolError(400, 'ERR_INVALID_ARG', `unknown output '${o.name}' (the model's outputs: ${outputNames.join(', ')})`, o.name);
      if (o.parameters !== undefined && !isObject(o.parameters)) throw protocolError(400, 'ERR_INVALID_ARG', `output '${o.name}': "parameters" must be an object`, o.name);
      const b = o.parameters?.binary_data;
      return { name: o.name, binary: typeof b === 'boolean' ? b : binaryOutput };
    });
  }
  return { ...(json.id !== undefined ? { id: json.id as string } : {}), feeds, outputs, binaryOutput };
}

function jsonDataText(t: TensorData, name: string): string {
  const values: string[] = new Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    if (t.dtype === 'bool') values[i] = v ? 'true' : 'false';
    else if (typeof v === 'bigint') values[i] = v.toString();
    else {
      const x = t.dtype === 'float16' ? float16BitsToFloat32(v as number) : (v as number);
      if (!Number.isFinite(x)) throw protocolError(400, 'ERR_UNSUPPORTED', `output '${name}' holds ${x}, which JSON cannot carry: request it as binary (parameters.binary_data: true)`, name);
      values[i] = String(x);
    }
  }
  return `[${values.join(',')}]`;
}

const bytesOf = (t: TensorData): Uint8Array => {
  const a = t.data as TypedArray;
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
};

/** An inference response body; headerLength is set when binary data follows the JSON. */
export function encodeInferResponse(
  meta: { modelName: string; modelVersion?: string; id?: string },
  outputs: readonly { name: string; tensor: TensorData; binary: boolean }[],
): { body: Buffer; headerLength?: number } {
  const parts: string[] = [];
  const blobs: Uint8Array[] = [];
  for (const o of outputs) {
    const head = `{"name":${JSON.stringify(o.name)},"datatype":"${protocolType(o.tensor.dtype)}","shape":${JSON.stringify(o.tensor.dims)}`;
    if (o.binary) {
      parts.push(`${head},"parameters":{"binary_data_size":${(o.tensor.data as TypedArray).byteLength}}}`);
      blobs.push(bytesOf(o.tensor));
    } else {
      parts.push(`${head},"data":${jsonDataText(o.tensor, o.name)}}`);
    }
  }
  const header = `{"model_name":${JSON.stringify(meta.modelName)}${meta.modelVersion !== undefined ? `,"model_version":${JSON.stringify(meta.modelVersion)}` : ''}${meta.id !== undefined ? `,"id":${JSON.stringify(meta.id)}` : ''},"outputs":[${parts.join(',')}]}`;
  const json = Buffer.from(header, 'utf8');
  if (blobs.length === 0) return { body: json };
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.byteLength };
}

/** An inference request body from feeds, every input as binary data, every named output asked for as binary. */
export function encodeInferRequest(feeds: Feeds, outputs: readonly string[], id?: string): { body: Buffer; headerLength: number } {
  const inputs = Object.entries(feeds).map(([name, t]) => ({ name, shape: t.dims, datatype: protocolType(t.dtype), parameters: { binary_data_size: (t.data as TypedArray).byteLength } }));
  const header = Buffer.from(JSON.stringify({ ...(id ? { id } : {}), inputs, outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })) }), 'utf8');
  return { body: Buffer.concat([header, ...Object.values(feeds).map(bytesOf)]), headerLength: header.byteLength };
}

/** An inference response body into tensors (JSON or binary outputs); malformed responses are ERR_INFERENCE. */
export function decodeInferResponse(body: Uint8Array, headerLength: string | undefined, source: string): Record<string, TensorData> {
  const bad = (why: string): TrtnError => new TrtnError('ERR_INFERENCE', `${source}: malformed inference response: ${why}`);
  let parsed: { json: unknown; binary: Uint8Array };
  try {
    parsed = splitBody(body, headerLength);
  } catch (err) {
    throw bad((err as Error).message);
  }
  const { json, binary } = parsed;
  if (!isObject(json) || !Array.isArray(json.outputs)) throw bad('no "outputs" array');
  const out: Record<string, TensorData> = {};
  let offset = 0;
  for (const o of json.outputs as unknown[]) {
    if (!isObject(o) || typeof o.name !== 'string' || typeof o.datatype !== 'string' || !Array.isArray(o.shape)) throw bad('an output lacks name, datatype or shape');
    const dtype = dtypeOfProtocol(o.datatype);
    if (!dtype) throw new TrtnError('ERR_UNSUPPORTED', `${source}: output '${o.name}' is ${o.datatype}, which the engine API cannot carry`, { tensor: o.name });
    const dims = o.shape as number[];
    const n = count(dims);
    const size = isObject(o.parameters) ? o.parameters.binary_data_size : undefined;
    let data: TypedArray;
    if (size !== undefined) {
      if (size !== n * elementBytes(dtype) || offset + (size as number) > binary.byteLength) throw bad(`output '${o.name}' binary_data_size ${String(size)} does not fit its shape or the body`);
      data = fromBytes(binary.subarray(offset, offset + (size as number)), dtype);
      offset += size as number;
    } else {
      try {
        data = fromJsonData(o.data, dtype, n, o.name, 'output');
      } catch (err) {
        throw bad((err as Error).message);
      }
    }
    out[o.name] = { data, dims, dtype };
  }
  return out;
}
