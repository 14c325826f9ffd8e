/**
 * The 'onnxruntime' backend (onnxruntime-node, CPU). Importing this module registers it.
 *
 * Precisions: 'fp32' runs the model as it is; 'int8' runs the Q/DQ model of quantizeModel (scales calibrated on
 * calib.data, or read from calib.cache); 'fp16' runs the FP16-converted model, where ops that ONNX Runtime's CPU
 * provider has no float16 kernel for are kept in float32 with Casts around them (engine.path lists them);
 * 'best' is int8 when calib is given, else fp32. Sessions live in a worker thread per engine.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { TrtnError } from '../../errors.js';
import { registerBackend, type Availability, type Backend, type ModelSource } from '../../engine/backend.js';
import type { BuildOptions, LoadOptions } from '../../engine/options.js';
import { DTYPES, type Engine, type Precision } from '../../engine/types.js';
import { parseModel } from '../../onnx/io.js';
import { feedInputs } from '../../onnx/graph.js';
import { DataType, type OnnxModel } from '../../onnx/model.js';
import { serializeModel } from '../../onnx/io.js';
import { ORT_DISABLED_OPTIMIZERS_KEY } from '../../onnx/qdq.js';
import { int8OptionsFromBuild, quantizeModel } from '../../quantize/index.js';
import { modelIO, OnnxRuntimeEngine } from './engine.js';
import { resolveOrt, SessionInitError, WorkerSession, type OrtSessionOptions } from './session.js';
import './statistics.js'; // calibration's statistics host

export { OnnxRuntimeEngine, modelIO } from './engine.js';
export { validateFeeds } from '../../engine/feeds.js';
export { WorkerSession, type OrtSessionOptions } from './session.js';

async function readSource(source: ModelSource): Promise<{ bytes: Uint8Array; file: string }> {
  if (typeof source !== 'string') return { bytes: source, file: '<bytes>' };
  try {
    return { bytes: new Uint8Array(await readFile(source)), file: source };
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot read ONNX model '${source}': ${(err as Error).message}`, { file: source });
  }
}

function sessionOptions(session: BuildOptions['session']): OrtSessionOptions {
  if (session === undefined) return {};
  if (typeof session !== 'object' || session === null) throw new TrtnError('ERR_INVALID_ARG', 'session must be an object');
  const { intraOpThreads, interOpThreads, graphOptimization, host, handoff, ortCall } = session;
  for (const [k, v] of Object.entries({ intraOpThreads, interOpThreads })) {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0)) throw new TrtnError('ERR_INVALID_ARG', `Expected a positive integer for session.${k} but received ${String(v)}`);
  }
  if (graphOptimization !== undefined && !['disabled', 'basic', 'extended', 'all'].includes(graphOptimization))
    throw new TrtnError('ERR_INVALID_ARG', `Expected one of disabled, basic, extended, all for session.graphOptimization but received ${JSON.stringify(graphOptimization)}`);
  if (host !== undefined && host !== 'thread' && host !== 'process')
    throw new TrtnError('ERR_INVALID_ARG', `Expected 'thread' or 'process' for session.host but received ${JSON.stringify(host)}`);
  if (ortCall !== undefined && ortCall !== 'binding' && ortCall !== 'public')
    throw new TrtnError('ERR_INVALID_ARG', `Expected 'binding' or 'public' for session.ortCall but received ${JSON.stringify(ortCall)}`);
  if (handoff !== undefined) {
    if (typeof handoff !== 'object' || handoff === null) throw new TrtnError('ERR_INVALID_ARG', 'session.handoff must be an object');
    for (const [k, v] of Object.entries({ spinUs: handoff.spinUs, pollUs: handoff.pollUs })) {
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e6))
        throw new TrtnError('ERR_INVALID_ARG', `Expected a number of microseconds from 0 to 1000000 for session.handoff.${k} but received ${String(v)}`);
    }
  }
  return { intraOpThreads, interOpThreads, graphOptimization, host, ortCall, ...(handoff ? { handoff: { spinUs: handoff.spinUs, pollUs: handoff.pollUs } } : {}) };
}

/**
 * The session options for one model: the caller's, plus the graph optimizers the model's metadata asks to turn off
 * (written by insertQdq, see ORT_DISABLED_OPTIMIZERS_KEY). Only optimizer names are taken from a model file.
 */
export function modelSessionOptions(model: OnnxModel, options: OrtSessionOptions): OrtSessionOptions {
  const value = model.metadataProps?.find((e) => e.key === ORT_DISABLED_OPTIMIZERS_KEY)?.value;
  const names = value?.split(';').filter((n) => /^\w+$/.test(n)) ?? [];
  return names.length > 0 ? { ...options, disabledOptimizers: [...new Set([...(options.disabledOptimizers ?? []), ...names])] } : options;
}

async function openSession(bytes: Uint8Array, options: OrtSessionOptions, file: string, model?: OnnxModel): Promise<WorkerSession> {
  try {
    return await WorkerSession.open(bytes, model ? modelSessionOptions(model, options) : options);
  } catch (err) {
    throw new TrtnError('ERR_ONNX_PARSE', `ONNX Runtime rejected ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
}

/** The engine over an open session; a failure here closes the session before it is reported (nothing leaks). */
async function engineOver(session: WorkerSession, init: Omit<ConstructorParameters<typeof OnnxRuntimeEngine>[0], 'session'>): Promise<Engine> {
  try {
    return new OnnxRuntimeEngine({ ...init, session });
  } catch (err) {
    await session.close().catch(() => undefined);
    throw err;
  }
}

/** ORT's "Could not find an implementation for Conv(11) node with name 'x'" names the op with no kernel. */
function missingKernelOp(message: string): string | undefined {
  return /Could not find an implementation for (\w+)\(/.exec(message)?.[1];
}

function hasFloatInput(model: OnnxModel): boolean {
  return feedInputs(model.graph).some((v) => v.type?.tensorType?.elemType === DataType.FLOAT);
}

async function build(source: ModelSource, options: BuildOptions): Promise<Engine> {
  const { bytes, file } = await readSource(source);
  const model = parseModel(bytes, file);
  modelIO(model); // inputs/outputs the engine API cannot carry are refused before any session starts
  const session = sessionOptions(options.session);
  // The path says when ONNX Runtime's graph optimizations are off (the study's unoptimized "base").
  const tag = session.graphOptimization && session.graphOptimization !== 'all' ? ` [graph optimization: ${session.graphOptimization}]` : '';
  const requested: Precision = options.precision;
  const precision = requested === 'best' ? (options.calib ? 'int8' : 'fp32') : requested;
  if ((precision === 'int8' || precision === 'fp16') && !hasFloatInput(model))
    throw new TrtnError('ERR_ONNX_MODEL', `${file} has no float32 input, so it cannot be run at ${precision} (inputs: ${feedInputs(model.graph).map((v) => v.name).join(', ') || 'none'})`, { file });
  const name = model.graph.name || file;
  if (precision === 'fp32') {
    const s = await openSession(bytes, session, file, model);
    return engineOver(s, { precision: requested, path: `onnx-fp32 (model as is)${tag}`, model, bytes, name });
  }
  if (precision === 'int8') {
    // quantizeModel asks for calib unless the model already carries Q/DQ (then its own scales are kept)
    const result = await quantizeModel(model, int8OptionsFromBuild(options, { intraOpThreads: session.intraOpThreads }));
    const q = serializeModel(result.model);
    const s = await openSession(q, session, `the int8 Q/DQ model of ${file}`, result.model);
    return engineOver(s, { precision: requested, path: result.report.path + tag, model: result.model, bytes: q, name });
  }
  return buildFp16(model, { session, file, tag, name, requested, keepFp32: options.keepFp32 ?? [] });
}

/**
 * fp16: the converter keeps in float32 what it knows ONNX Runtime's CPU provider cannot run in float16; where ORT
 * still refuses the model, one more op type is kept float32 and the model converted again: the op ORT names as
 * having no kernel when its message says so, else the next op type in graph order. Ends when ORT accepts, at worst
 * with every op kept (the model as is, plus Casts at its float32 boundary). engine.path lists the ops kept.
 */
async function buildFp16(
  model: OnnxModel,
  o: { session: OrtSessionOptions; file: string; tag: string; name: string; requested: Precision; keepFp32: readonly string[] },
): Promise<Engine> {
  const keep = [...o.keepFp32];
  const fallback: string[] = [];
  const opTypes = [...new Set(model.graph.nodes.map((n) => n.opType))];
  for (;;) {
    const result = await quantizeModel(model, { precision: 'fp16', keepFp32: keep });
    const h = serializeModel(result.model);
    let s: WorkerSession;
    try {
      s = await WorkerSession.open(h, modelSessionOptions(result.model, o.session));
    } catch (err) {
      const named = err instanceof SessionInitError ? missingKernelOp(err.message) : undefined;
      const next = named && opTypes.includes(named) && !keep.includes(named) ? named : opTypes.find((op) => !keep.includes(op));
      if (!(err instanceof SessionInitError) || next === undefined)
        throw new TrtnError('ERR_ONNX_PARSE', `ONNX Runtime rejected the fp16 model of ${o.file}${fallback.length ? ` (float32 fallback for ${fallback.join(', ')})` : ''}: ${(err as Error).message}`, { file: o.file }, { cause: err });
      keep.push(next);
      fallback.push(next);
      continue;
    }
    const kept = [...new Set(result.report.fp16?.keptFp32.map((k) => k.opType) ?? [])];
    const refused = fallback.length ? `; ONNX Runtime refused float16 for ${fallback.join(', ')}` : '';
    const path = `fp16-converted-onnx${kept.length ? ` (kept float32: ${kept.join(', ')}${refused})` : ''}`;
    return engineOver(s, { precision: o.requested, path: path + o.tag, model: result.model, bytes: h, name: o.name });
  }
}

function precisionOf(model: OnnxModel): { precision: Precision; path: string } {
  if (model.graph.nodes.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear')) return { precision: 'int8', path: 'onnx-qdq-int8 (loaded)' };
  if (model.graph.initializers.some((t) => t.dataType === DataType.FLOAT16)) return { precision: 'fp16', path: 'onnx-fp16 (loaded)' };
  return { precision: 'fp32', path: 'onnx-fp32 (loaded)' };
}

export const onnxruntimeBackend: Backend = {
  name: 'onnxruntime',
  dtypes: DTYPES,
  async availability(): Promise<Availability> {
    try {
      const path = resolveOrt();
      const version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
      return { available: true, info: { version, path } };
    } catch (err) {
      return { available: false, reason: (err as Error).message, fix: 'npm install onnxruntime-node' };
    }
  },
  buildEngine: (model, options) => build(model, options),
  async loadEngine(serialized: ModelSource, options: LoadOptions): Promise<Engine> {
    const { bytes, file } = await readSource(serialized);
    let model: OnnxModel;
    try {
      model = parseModel(bytes, file);
    } catch (err) {
      throw new TrtnError('ERR_ENGINE_LOAD', `${file} is not an ONNX model: ${(err as Error).message}`, { file }, { cause: err });
    }
    const { precision, path } = precisionOf(model);
    modelIO(model);
    const s = await openSession(bytes, sessionOptions(options.session), file, model);
    return engineOver(s, { precision, path, model, bytes, name: model.graph.name || file });
  },
  recognises(bytes: Uint8Array): boolean {
    try {
      const model = parseModel(bytes);
      return model.graph !== undefined && model.graph.nodes.length > 0;
    } catch {
      return false;
    }
  },
};

registerBackend(onnxruntimeBackend);
