/** Reading and writing ONNX files, including tensors stored in external data files. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { TrtnError } from '../errors.js';
import { decodeModelMessage, decodeTensor, encodeModelMessage } from './codec.js';
import { DataLocation, type OnnxGraph, type OnnxModel, type OnnxTensor, type StringEntry } from './model.js';
import { onnxType } from './proto.js';
import { dataTypeSize, elementCount, toRawTensor } from './tensor.js';

export interface LoadModelOptions {
  /** Directory that external data locations are relative to; default: the model file's directory. */
  baseDir?: string;
  /** Leave external tensors unresolved (externalData kept) instead of reading their files. */
  skipExternalData?: boolean;
  /** Name used in error messages when loading from bytes. */
  name?: string;
}

export interface SaveModelOptions {
  /** Write initializers of at least `threshold` bytes (default 1024) into `file`, next to the model. */
  externalData?: { file: string; threshold?: number };
}

/** Protobuf's own hard limit for one message. */
const MAX_PROTO_BYTES = 2 ** 31 - 1;
/** Offsets in external data files are aligned so typed arrays can view the payload without a copy. */
const EXTERNAL_ALIGN = 64;

function loadError(file: string, message: string, details: Record<string, unknown> = {}, cause?: unknown): TrtnError {
  return new TrtnError('ERR_ONNX_LOAD', `${file}: ${message}`, { file, ...details }, cause === undefined ? undefined : { cause });
}

/** Decode ONNX bytes into a model; `file` names the source in errors. External data stays unresolved. */
export function parseModel(bytes: Uint8Array, file = '<bytes>'): OnnxModel {
  if (!(bytes instanceof Uint8Array)) throw new TrtnError('ERR_INVALID_ARG', `parseModel: expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.byteLength === 0) throw loadError(file, 'the file is empty');
  if (bytes.byteLength > MAX_PROTO_BYTES) throw loadError(file, `the file is ${bytes.byteLength} bytes, over protobuf's 2 GiB limit`);
  let model: OnnxModel;
  try {
    const message = onnxType('ModelProto').decode(bytes);
    if (!Object.prototype.hasOwnProperty.call(message, 'graph')) throw new Error('no graph (not an ONNX model?)');
    model = decodeModelMessage(message as unknown as Record<string, unknown>);
  } catch (err) {
    // protobufjs throws RangeError/Error on truncation or bad wire types; a stack overflow is a RangeError too.
    const reason = err instanceof Error ? err.message : String(err);
    // protobufjs reports a field running past the end as 'index out of range: <pos> + <len> > <size>'.
    if (/index out of range/.test(reason)) throw loadError(file, `truncated ONNX model: a field runs past the end of the ${bytes.byteLength}-byte file (${reason})`, {}, err);
    throw loadError(file, `not a valid ONNX model (${reason})`, {}, err);
  }
  validateDecoded(model, file);
  return model;
}

/** Sanity rules that tell an ONNX model from bytes that merely happen to decode. */
function validateDecoded(model: OnnxModel, file: string): void {
  if (!Number.isInteger(model.irVersion) || model.irVersion < 1 || model.irVersion > 100)
    throw loadError(file, `not a valid ONNX model (ir_version ${model.irVersion})`);
  if (model.irVersion >= 3 && model.opsetImport.length === 0) throw loadError(file, 'not a valid ONNX model (no opset_import)');
  for (const o of model.opsetImport)
    if (!Number.isInteger(o.version) || o.version < 1 || o.version > 10_000)
      throw loadError(file, `not a valid ONNX model (opset '${o.domain}' version ${o.version})`);
  const g = model.graph;
  if (g.outputs.length === 0) throw loadError(file, 'not a valid ONNX model (the graph has no outputs)');
  g.nodes.forEach((n, i) => {
    if (!n.opType) throw loadError(file, `not a valid ONNX model (node ${i} '${n.name}' has no op_type)`, { node: n.name || `#${i}` });
  });
}

/** Load an ONNX model from a path or bytes, reading external data files (relative to baseDir). */
export function loadModel(source: string | Uint8Array, options: LoadModelOptions = {}): OnnxModel {
  let bytes: Uint8Array;
  let file: string;
  let baseDir = options.baseDir;
  if (typeof source === 'string') {
    file = source;
    try {
      bytes = readFileSync(source);
    } catch (err) {
      throw loadError(file, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {}, err);
    }
    baseDir ??= dirname(resolve(source));
  } else if (source instanceof Uint8Array) {
    file = options.name ?? '<bytes>';
    bytes = source;
  } else {
    throw new TrtnError('ERR_INVALID_ARG', `loadModel: expected a path or a Uint8Array, got ${typeof source}`);
  }
  const model = parseModel(bytes, file);
  if (options.skipExternalData || !hasExternalData(model.graph)) return model;
  if (baseDir === undefined)
    throw loadError(file, 'the model has external data; pass baseDir to say where its files are');
  return { ...model, graph: resolveGraphExternal(model.graph, file, baseDir, new Map()) };
}

export function isExternal(t: OnnxTensor): boolean {
  return t.dataLocation === DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0;
}

function hasExternalData(g: OnnxGraph): boolean {
  if (g.initializers.some(isExternal)) return true;
  return g.nodes.some((n) =>
    n.attributes.some(
      (a) => (a.t && isExternal(a.t)) || a.tensors?.some(isExternal) || (a.g && hasExternalData(a.g)) || a.graphs?.some(hasExternalData),
    ),
  );
}

function resolveGraphExternal(g: OnnxGraph, file: string, baseDir: string, cache: Map<string, Uint8Array>): OnnxGraph {
  const fix = (t: OnnxTensor): OnnxTensor => (isExternal(t) ? readExternal(t, file, baseDir, cache) : t);
  return {
    ...g,
    initializers: g.initializers.map(fix),
    nodes: g.nodes.map((n) =>
      n.attributes.some((a) => a.t || a.tensors || a.g || a.graphs)
        ? {
            ...n,
            attributes: n.attributes.map((a) => ({
              ...a,
              ...(a.t ? { t: fix(a.t) } : {}),
              ...(a.tensors ? { tensors: a.tensors.map(fix) } : {}),
              ...(a.g ? { g: resolveGraphExternal(a.g, file, baseDir, cache) } : {}),
              ...(a.graphs ? { graphs: a.graphs.map((sg) => resolveGraphExternal(sg, file, baseDir, cache)) } : {}),
            })),
          }
        : n,
    ),
  };
}

function entryValue(entries: StringEntry[] | undefined, key: string): string | undefined {
  return entries?.find((e) => e.key === key)?.value;
}

function readExternal(t: OnnxTensor, file: string, baseDir: string, cache: Map<string, Uint8Array>): OnnxTensor {
  const details = { tensor: t.name };
  const location = entryValue(t.externalData, 'location');
  if (!location) throw loadError(file, `tensor '${t.name}' is external but has no location`, details);
  const norm = normalize(location);
  if (isAbsolute(norm) || norm === '..' || norm.startsWith(`..${sep}`))
    throw loadError(file, `tensor '${t.name}': external data location '${location}' is outside the model directory`, details);
  const path = join(baseDir, norm);
  let data = cache.get(path);
  if (!data) {
    try {
      data = readFileSync(path);
    } catch (err) {
      throw loadError(file, `tensor '${t.name}': cannot read external data file '${path}' (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { ...details, dataFile: path }, err);
    }
    cache.set(path, data);
  }
  const parseIntEntry = (key: string): number | undefined => {
    const v = entryValue(t.externalData, key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw loadError(file, `tensor '${t.name}': external data ${key} '${v}' is not a byte count`, details);
    return n;
  };
  const offset = parseIntEntry('offset') ?? 0;
  const length = parseIntEntry('length') ?? data.byteLength - offset;
  if (offset > data.byteLength || offset + length > data.byteLength)
    throw loadError(file, `tensor '${t.name}': external data range [${offset}, ${offset + length}) is outside '${path}' (${data.byteLength} bytes)`, { ...details, dataFile: path });
  const size = dataTypeSize(t.dataType);
  if (size !== undefined && length !== elementCount(t.dims) * size)
    throw loadError(file, `tensor '${t.name}': external data has ${length} bytes, dims [${t.dims.join(',')}] need ${elementCount(t.dims) * size}`, details);
  const { externalData, dataLocation, ...rest } = t;
  void externalData, dataLocation;
  return { ...rest, rawData: data.subarray(offset, offset + length) };
}

/** Decode a serialized TensorProto (e.g. ONNX test data's input_0.pb); `file` names the source in errors. */
export function parseTensor(bytes: Uint8Array, file = '<bytes>'): OnnxTensor {
  try {
    return decodeTensor(onnxType('TensorProto').decode(bytes) as unknown as Record<string, unknown>);
  } catch (err) {
    throw loadError(file, `not a valid ONNX TensorProto (${err instanceof Error ? err.message : String(err)})`, {}, err);
  }
}

/** The model as ONNX protobuf bytes (all tensors inline). */
export function serializeModel(model: OnnxModel): Uint8Array {
  const writer = onnxType('ModelProto').encode(encodeModelMessage(model) as never);
  const bytes = writer.finish();
  if (bytes.byteLength > MAX_PROTO_BYTES)
    throw new TrtnError('ERR_UNSUPPORTED', `the serialized model is ${bytes.byteLength} bytes, over protobuf's 2 GiB limit; save it with externalData`);
  return bytes;
}

/**
 * Write the model to `path`. With `externalData`, initializers of `threshold` bytes or more go into
 * `externalData.file` (relative to the model's directory) at 64-byte aligned offsets.
 */
export function saveModel(model: OnnxModel, path: string, options: SaveModelOptions = {}): void {
  let toWrite = model;
  const dir = dirname(resolve(path));
  let dataBytes: Uint8Array | undefined;
  let dataPath: string | undefined;
  if (options.externalData) {
    const { file, threshold = 1024 } = options.externalData;
    if (typeof file !== 'string' || file === '' || isAbsolute(file) || normalize(file).startsWith('..'))
      throw new TrtnError('ERR_INVALID_ARG', `saveModel: externalData.file must be a relative path inside the model directory, got '${file}'`);
    if (!Number.isFinite(threshold) || threshold < 0)
      throw new TrtnError('ERR_INVALID_ARG', `saveModel: externalData.threshold must be a byte count >= 0, got ${threshold}`);
    const location = relative(dir, join(dir, file)).split(sep).join('/');
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const initializers = model.graph.initializers.map((t0) => {
      const t = isExternal(t0) ? t0 : toRawTensor(t0);
      if (t.rawData === undefined || t.rawData.byteLength < threshold || t.rawData.byteLength === 0) return t;
      const pad = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      chunks.push(t.rawData);
      const { rawData, ...rest } = t;
      const out: OnnxTensor = {
        ...rest,
        dataLocation: DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(rawData.byteLength) },
        ],
      };
      offset += rawData.byteLength;
      return out;
    });
    toWrite = { ...model, graph: { ...model.graph, initializers } };
    dataBytes = Buffer.concat(chunks);
    dataPath = join(dir, file);
  }
  const bytes = serializeModel(toWrite);
  try {
    mkdirSync(dir, { recursive: true });
    if (dataPath && dataBytes) {
      mkdirSync(dirname(dataPath), { recursive: true });
      writeFileSync(dataPath, dataBytes);
    }
    writeFileSync(path, bytes);
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot write ONNX model '${path}': ${(err as Error).message}`, { file: path }, { cause: err });
  }
}
