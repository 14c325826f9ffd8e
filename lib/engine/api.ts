import { readFile } from 'node:fs/promises';
import { TrtnError } from '../errors.js';
import { resolveBackend, listBackends, type ModelSource } from './backend.js';
import { is, invalid, validateBuildOptions, BACKENDS, type BuildOptions, type LoadOptions } from './options.js';
import type { Engine } from './types.js';

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
  const backend = await resolveBackend(validated.backend, validated.logger);
  return backend.buildEngine(onnx, validated);
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
