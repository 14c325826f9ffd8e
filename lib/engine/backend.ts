import { TrtnError } from '../errors.js';
import type { BackendName, DType, Engine, Logger } from './types.js';
import type { BuildOptions, LoadOptions } from './options.js';

/** An ONNX model or a serialized engine: a file path or its bytes. */
export type ModelSource = string | Uint8Array;

export interface Availability {
  available: boolean;
  /** Why it is not available. */
  reason?: string;
  /** How a user makes it available. */
  fix?: string;
  /** Free-form facts for `doctor` (versions, devices). */
  info?: Record<string, unknown>;
}

/**
 * The whole contract between the public API and a runtime, in the manner of onnxruntime-common's Backend:
 * the public API knows nothing about which engine runs.
 */
export interface Backend {
  readonly name: BackendName;
  /** The element types its engines take and return; buildEngine refuses a model with any other before any work. */
  readonly dtypes: readonly DType[];
  availability(): Promise<Availability>;
  buildEngine(model: ModelSource, options: BuildOptions & { workspaceBytes?: number }): Promise<Engine>;
  loadEngine(serialized: ModelSource, options: LoadOptions): Promise<Engine>;
  /** True when these bytes are this backend's serialized form (used by loadEngine with backend 'auto'). */
  recognises(bytes: Uint8Array): boolean;
}

const registry = new Map<BackendName, Backend>();
/** Order tried by backend 'auto'. */
const AUTO_ORDER: BackendName[] = ['tensorrt', 'onnxruntime'];

export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

export function listBackends(): Backend[] {
  return AUTO_ORDER.map((n) => registry.get(n)).filter((b): b is Backend => b !== undefined);
}

export function getBackend(name: BackendName): Backend {
  const b = registry.get(name);
  if (!b) throw new TrtnError('ERR_BACKEND_UNAVAILABLE', `backend '${name}' is not registered`);
  return b;
}

/**
 * Pick the backend for a request. 'auto' takes the first available one and says why through the logger;
 * an explicitly requested backend that cannot run is an error with its reason, never a quiet switch.
 */
export async function resolveBackend(requested: 'auto' | BackendName | undefined, logger?: Logger): Promise<Backend> {
  if (requested !== undefined && requested !== 'auto') {
    const backend = getBackend(requested);
    const a = await backend.availability();
    if (!a.available) {
      throw new TrtnError('ERR_BACKEND_UNAVAILABLE', `backend '${requested}' cannot run here: ${a.reason ?? 'unknown reason'}${a.fix ? ` (fix: ${a.fix})` : ''}`, { backend: requested });
    }
    return backend;
  }
  const skipped: string[] = [];
  for (const backend of listBackends()) {
    const a = await backend.availability();
    if (a.available) {
      const why = skipped.length ? ` (${skipped.join('; ')})` : '';
      logger?.('info', `backend 'auto' chose '${backend.name}'${why}`);
      return backend;
    }
    skipped.push(`${backend.name} unavailable: ${a.reason ?? 'unknown'}`);
  }
  throw new TrtnError('ERR_BACKEND_UNAVAILABLE', `no backend can run here: ${skipped.join('; ')}`);
}
