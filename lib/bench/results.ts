/** The results file: a versioned schema, its cell records, and reading one back with validation. */
import { readFile } from 'node:fs/promises';
import { TrtnError } from '../errors.js';
import type { BackendName, LatencyStats } from '../engine/types.js';
import type { StudyConfig, StudyPrecision } from './config.js';
import type { CellStats } from './measure.js';

// @2: latency and throughput from separate runs, CellStats with cv / noise, load per cell.
export const STUDY_SCHEMA = 'tensorrt-node/study@2';

/** ok: measured; unavailable: this machine cannot run it (no GPU, no kernels); failed: it was tried and broke. */
export type CellStatus = 'ok' | 'unavailable' | 'failed';

export interface CellError {
  /** A TrtnError code where there is one. */
  code: string;
  message: string;
}

export interface AccuracyResult {
  /** Data spec / dataset name the accuracy was measured on. */
  dataset: string;
  top1: number;
  correct: number;
  total: number;
}

/** One cell of the matrix: input setting x model x precision (x backend) x batch size. */
export interface StudyCell {
  input: string;
  inputShape: [number, number, number];
  /** Model name: the generator name or the ONNX file's base name. */
  model: string;
  /** The generator name or file path as configured. */
  modelSource: string;
  precision: StudyPrecision;
  backend: BackendName | 'auto';
  /** Column label in tables, e.g. 'base', 'int8', 'int8 (tensorrt)'. */
  column: string;
  batchSize: number;
  status: CellStatus;
  error?: CellError;
  /** How the engine realised the precision (Engine.path). */
  path?: string;
  timer?: 'cuda-event' | 'host';
  /** Latency per batch (ms), single-stream run, the backend's primary timer (TensorRT: H2D + compute + D2H). */
  latencyMs?: CellStats;
  /** The latency run's CV stayed above config.maxCv after its re-measures. */
  unstable?: boolean;
  /** Latency measurements made (more than 1 when the first was unstable). */
  attempts?: number;
  /** Host wall time per batch, GPU compute, H2D and D2H copies of the latency run (middle segment), where timed. */
  wallMs?: LatencyStats;
  gpuMs?: LatencyStats;
  h2dMs?: LatencyStats;
  d2hMs?: LatencyStats;
  /** Images per second from the throughput run (`streams` queries in flight, host wall time). */
  throughput?: number;
  /** Relative spread of the throughput run's segment rates. */
  throughputNoise?: number;
  streams?: number;
  /** Why the throughput run failed, when the latency run succeeded. */
  throughputError?: CellError;
  /** engine.infer per batch (ms), one query in flight on the caller's thread. */
  inferMs?: CellStats;
  /** Engine overhead: engine.infer median minus the runtime's own median latency (ms), and that over the latter. */
  overheadMs?: number;
  overheadRatio?: number;
  /** 1-minute load average before and after the cell's runs (the rounds of all of a model's cells share one window). */
  loadBefore?: number;
  loadAfter?: number;
  /** README claims this cell's figures contradict (beyond their noise). */
  contradicts?: string[];
  /** Eq. 19: latency_base / latency_this (median latencies, latency runs); null where there is no base. */
  speedup?: number | null;
  /** Eq. 20: throughput_this / throughput_base (throughput runs); null where there is no base. */
  improvementFactor?: number | null;
  accuracy?: AccuracyResult | null;
  accuracyError?: CellError;
  /** Engine build time, including calibration / quantization. */
  buildMs?: number;
  /** Size of the ONNX model the column started from. */
  modelBytes?: number;
  /** Engine.serialize().byteLength. */
  engineBytes?: number;
  /** Largest host resident set size sampled while the column was built and run. */
  peakRssBytes?: number;
  /** Device memory the engine reported (TensorRT backend), where reported. */
  gpuMemoryBytes?: number;
}

export interface BackendAvailability {
  available: boolean;
  reason?: string;
  info?: Record<string, unknown>;
}

export interface StudyEnvironment {
  cpu: { model: string; cores: number };
  memoryBytes: number;
  os: string;
  node: string;
  /** 1/5/15-minute load averages when the study started: a loaded machine perturbs timings. */
  loadAverage: number[];
  gpu?: { model?: string; driver?: string };
  versions: { 'tensorrt-node'?: string; 'onnxruntime-node'?: string; tensorrt?: string };
  backends: Record<string, BackendAvailability>;
}

export interface StudyResults {
  schema: typeof STUDY_SCHEMA;
  createdAt: string;
  durationMs: number;
  environment: StudyEnvironment;
  config: StudyConfig;
  cells: StudyCell[];
}

function corrupt(file: string, why: string): TrtnError {
  return new TrtnError('ERR_INVALID_ARG', `${file} is not a tensorrt-node study results file (${STUDY_SCHEMA}): ${why}`, { file });
}

/** Check the shape of parsed results; `file` names the source in errors. */
export function validateResults(value: unknown, file = '<results>'): StudyResults {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(file, 'not a JSON object');
  const v = value as Partial<StudyResults> & { schema?: unknown };
  if (v.schema !== STUDY_SCHEMA) {
    throw corrupt(file, v.schema === undefined ? 'no "schema" field' : `schema ${JSON.stringify(v.schema)} is not ${JSON.stringify(STUDY_SCHEMA)}`);
  }
  if (typeof v.environment !== 'object' || v.environment === null) throw corrupt(file, 'no "environment" object');
  if (typeof v.config !== 'object' || v.config === null || !Array.isArray(v.config.batchSizes)) throw corrupt(file, 'no "config" with batchSizes');
  if (!Array.isArray(v.cells)) throw corrupt(file, 'no "cells" array');
  v.cells.forEach((c, i) => {
    const cell = c as Partial<StudyCell>;
    const ok =
      typeof cell === 'object' && cell !== null &&
      typeof cell.input === 'string' && typeof cell.model === 'string' && typeof cell.column === 'string' &&
      typeof cell.precision === 'string' && Number.isInteger(cell.batchSize) &&
      (cell.status === 'ok' || cell.status === 'unavailable' || cell.status === 'failed') &&
      (cell.status !== 'ok' || typeof cell.latencyMs?.median === 'number');
    if (!ok) throw corrupt(file, `cells[${i}] is malformed`);
  });
  return v as StudyResults;
}

/** Read and validate a results.json; ERR_IO when unreadable, ERR_INVALID_ARG when not a study file. */
export async function readResults(file: string): Promise<StudyResults> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot read results file '${file}': ${(err as Error).message}`, { file }, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, `invalid JSON (${(err as Error).message})`);
  }
  return validateResults(parsed, file);
}
