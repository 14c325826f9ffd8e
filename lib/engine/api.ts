import { readFile } from 'node:fs/promises';
import { TrtnError } from '../errors.js';
import { getBackend, resolveBackend, listBackends, type ModelSource } from './backend.js';
import { is, invalid, validateBuildOptions, BACKENDS, type BuildOptions, type LoadOptions } from './options.js';
import { DTYPES, type BackendName, type Engine } from './types.js';
import { feedInputs } from '../onnx/graph.js';
import { parseModel } from '../onnx/io.js';
import { dataTypeName, dataTypeToDType } from '../onnx/tensor.js';
import type { Backend } from './backend.js';

function checkSource(source: unknown, name: string): asserts source is ModelSource {
  if (!(is.string(source) || (source instanceof Uint8Array && source.byteLength > 0))) {
    throw invalid(name, 'a file path or non-empty bytes', source);
  }
}

/** Build an engine from an ONNX model at the requested precision on the chosen backend. */
export async function buildEngine(onnx: ModelSource, options: BuildOptions): Promise<Engine> {
  checkSource(onnx, 'onnx');
  const validated = validateBuildOptions(options);
  if (validated.signal?.aborted) throw new TrtnError('ERR_ABORTED', 'build aborted before it started');
  // A named backend's dtypes are checked even where it cannot run: the model would not fit it anywhere.
  const named = validated.backend !== undefined && validated.backend !== 'auto';
  if (named) await checkDtypes(onnx, getBackend(validated.backend as BackendName));
  const backend = await resolveBackend(validated.backend, validated.logger);
  if (!named) await checkDtypes(onnx, backend);
  return backend.buildEngine(onnx, validated);
}

/**
 * ERR_UNSUPPORTED naming the tensor when a model input or output has an element type the backend does not carry
 * (e.g. double or string on TensorRT). Only backends that lack some dtype pay for the parse; a file that cannot be
 * read or parsed is left to the backend, which reports it as it always does.
 */
async function checkDtypes(source: ModelSource, backend: Backend): Promise<void> {
  if (DTYPES.every((d) => backend.dtypes.includes(d))) return;
  let graph;
  try {
    graph = parseModel(typeof source === 'string' ? await readFile(source) : source).graph;
  } catch {
    return;
  }
  for (const v of [...feedInputs(graph), ...graph.outputs]) {
    const tt = v.type?.tensorType;
    const dtype = tt ? dataTypeToDType(tt.elemType) : undefined;
    if (dtype && backend.dtypes.includes(dtype)) continue;
    const what = tt ? dataTypeName(tt.elemType) : `a ${Object.keys(v.type ?? {}).join('/') || 'typeless value'}`;
    const where = typeof source === 'string' ? `${source}: ` : '';
    throw new TrtnError('ERR_UNSUPPORTED', `${where}tensor '${v.name}' is ${what}, which backend '${backend.name}' cannot carry (it carries ${backend.dtypes.join(', ')})`, {
      tensor: v.name, backend: backend.name, ...(typeof source === 'string' ? { file: source } : {}),
    });
  }
}

/** Load a serialized engine (a TensorRT plan, or an ONNX model for the onnxruntime backend). */
export async function loadEngine(serialized: ModelSource, options: LoadOptions = {}): Promise<Engine> {
  checkSource(serialized, 'plan');
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options);
  if (options.backend !== undefined && !is.oneOf(options.backend, BACKENDS)) throw invalid('backend', `one of ${BACKENDS.join(', ')}`, options.backend);
  // A model URL of the Open Inference Protocol names no file: backend 'auto' routes it to 'remote'.
  const requested = options.backend === undefined || options.backend === 'auto' ? (typeof serialized === 'string' && /^https?:\/\//.test(serialized) ? 'remote' : 'auto') : options.backend;
  if (requested !== 'auto') {
    const backend = await resolveBackend(requested, options.logger);
    return backend.loadEngine(serialized, options);
  }
  let bytes: Uint8Array;
  try {
    bytes = typeof serialized === 'string' ? await readFile(serialized) : serialized;
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot read engine file '${String(serialized)}': ${(err as Error).message}`, { file: String(serialized) });
  }
  const owner = listBackends().find((b) => b.recognises(bytes));
  if (!owner) {
    const where = typeof serialized === 'string' ? ` '${serialized}'` : '';
    throw new TrtnError('ERR_ENGINE_LOAD', `engine${where} is neither a TensorRT plan nor an ONNX model (${bytes.byteLength} bytes)`, typeof serialized === 'string' ? { file: serialized } : {});
  }
  const resolved = await resolveBackend(owner.name, options.logger);
  return resolved.loadEngine(typeof serialized === 'string' ? serialized : bytes, options);
}
