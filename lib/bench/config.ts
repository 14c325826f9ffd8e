/** What a study runs: validated configuration, named input settings and presets. */
import { availableParallelism } from 'node:os';
import { TrtnError } from '../errors.js';
import { is, invalid, CALIB_ALGORITHMS, type CalibAlgorithm } from '../engine/options.js';

/** 'base' is the unoptimized framework: ONNX Runtime FP32 with graph optimizations disabled. */
export const STUDY_PRECISIONS = ['base', 'fp32', 'fp16', 'int8'] as const;
export type StudyPrecision = (typeof STUDY_PRECISIONS)[number];
export const STUDY_BACKENDS = ['auto', 'tensorrt', 'onnxruntime'] as const;
export type StudyBackend = (typeof STUDY_BACKENDS)[number];

/** The study's input settings by name; any other setting is written CxHxW. */
export const INPUT_SETTINGS: Readonly<Record<string, readonly [number, number, number]>> = {
  'cifar10-48': [3, 48, 48],
  'catsdogs-128': [3, 128, 128],
  'fmnist-28': [1, 28, 28],
};

export const DEFAULT_BATCH_SIZES = [8, 16, 32, 64] as const;
/** The input setting when none is given: a shape, not a dataset name (the study's data there is synthetic). */
export const DEFAULT_INPUT = '3x48x48';
/** trtexec's defaults: 200 ms warm-up, at least 3 s and 10 queries per timed run. */
export const MEASURE_DEFAULTS = { warmupMs: 200, durationMs: 3000, iterations: 10, maxCv: 0.1, remeasures: 1 } as const;
export const DEFAULT_STREAMS = Math.max(1, Math.min(4, availableParallelism()));
export const DEFAULT_CALIBRATION_COUNT = 512;

/** One input setting with its models and data. */
export interface StudySuite {
  /** 'cifar10-48', 'catsdogs-128', 'fmnist-28' or 'CxHxW'. */
  input: string;
  /** Built-in generator names (vgg16, resnet50, mobilenet_v1, cnn) or ONNX file paths. */
  models: string[];
  /** Data spec for INT8 calibration; default synthetic data of the input shape. */
  calibration?: string;
  /** Items of the calibration data used (a stratified subset where labels exist); default 512. */
  calibrationCount?: number;
  /** Labelled data spec for top-1 accuracy; none means no accuracy column. */
  accuracy?: string;
  /** Items of the accuracy data used; default all. */
  accuracyCount?: number;
}

export interface StudyConfig {
  suites: StudySuite[];
  batchSizes: number[];
  precisions: StudyPrecision[];
  backend: StudyBackend;
  /** Time-based warm-up before each timed run (ms; trtexec's --warmUp, default 200). */
  warmupMs: number;
  /** Shortest timed run per cell and run kind (ms; trtexec's --duration, default 3000). */
  durationMs: number;
  /** Fewest timed queries per cell and run kind (trtexec's --iterations, default 10). */
  iterations: number;
  /** Coefficient of variation above which a latency run is re-measured and, if still above, marked unstable (default 0.1). */
  maxCv: number;
  /** Re-measures of an unstable latency run (default 1). */
  remeasures: number;
  /** Queries in flight in the throughput run (default: the number of CPU cores, at most 4). */
  streams: number;
  /** TensorRT: one engine per batch size with its optimization profile's opt at that batch (default true). */
  enginePerBatch: boolean;
  calibAlgorithm: CalibAlgorithm;
  /** ONNX Runtime intra-op threads; default: the library's default (all cores). */
  threads?: number;
  /** Seed for generated models and synthetic data. */
  seed: number;
}

/** A config as written by a user: everything but the models optional; flat suite fields allowed for one suite. */
export type StudyConfigInput = Partial<Omit<StudyConfig, 'suites'>> & Partial<StudySuite> & { suites?: StudySuite[]; preset?: string };

const FIXTURE_DIR = 'test/fixtures/models';

const FMNIST_SUITE: StudySuite = {
  input: 'fmnist-28',
  models: [`${FIXTURE_DIR}/fmnist_cnn.onnx`, `${FIXTURE_DIR}/fmnist_vgg16.onnx`, `${FIXTURE_DIR}/fmnist_mobilenet_v1.onnx`],
  calibration: 'fashion-mnist:train',
  calibrationCount: 512,
  accuracy: 'fashion-mnist:test',
};
const SYNTHETIC_SUITE: StudySuite = { input: '3x48x48', models: ['vgg16', 'resnet50', 'mobilenet_v1'], calibration: 'synthetic:3x48x48,n=512', calibrationCount: 128 };

/**
 * study-cpu: the README's main job on a machine without a GPU. The three trained Fashion-MNIST fixtures give
 * accuracy; the generated VGG16 / ResNet-50 / MobileNet_v1 at 3x48x48 (synthetic data, random weights) give speed.
 * trtexec's measurement defaults (200 ms warm-up, 3 s per timed run) for a latency and a throughput run per cell.
 * study-cpu-quick: the same models and precisions at batch 8 and 32 with 1 s timed runs, for a shared, loaded
 * 2-core machine (the full preset took over 40 minutes there at a load average of 20; this one about a third).
 */
export const PRESETS: Readonly<Record<string, StudyConfigInput>> = {
  'study-cpu': {
    suites: [FMNIST_SUITE, SYNTHETIC_SUITE],
    batchSizes: [...DEFAULT_BATCH_SIZES],
    precisions: [...STUDY_PRECISIONS],
    backend: 'auto',
  },
  'study-cpu-quick': {
    suites: [FMNIST_SUITE, SYNTHETIC_SUITE],
    batchSizes: [8, 32],
    precisions: [...STUDY_PRECISIONS],
    backend: 'auto',
    durationMs: 1000,
  },
};

/** [C, H, W] of an input setting name or a 'CxHxW' string. */
export function parseInputSetting(input: string): [number, number, number] {
  const named = INPUT_SETTINGS[input];
  if (named) return [...named];
  const m = /^([1-9][0-9]*)x([1-9][0-9]*)x([1-9][0-9]*)$/.exec(typeof input === 'string' ? input : '');
  if (!m) throw invalid('input', `one of ${Object.keys(INPUT_SETTINGS).join(', ')} or CxHxW (e.g. 3x224x224)`, input);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function posIntList(name: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(is.posInt)) throw invalid(name, 'a non-empty list of positive integers', Array.isArray(value) ? value.join(',') : value);
  return [...new Set(value as number[])].sort((a, b) => a - b);
}

function validateSuite(suite: unknown, where: string): StudySuite {
  if (!is.object(suite)) throw invalid(where, 'an object { input, models, ... }', suite);
  const s = suite as unknown as StudySuite;
  parseInputSetting(s.input);
  if (!Array.isArray(s.models) || s.models.length === 0 || !s.models.every(is.string)) {
    throw invalid(`${where}.models`, 'a non-empty list of generator names or ONNX paths', Array.isArray(s.models) ? s.models.join(',') : s.models);
  }
  for (const key of ['calibration', 'accuracy'] as const) {
    if (s[key] !== undefined && !is.string(s[key])) throw invalid(`${where}.${key}`, 'a data spec string', s[key]);
  }
  for (const key of ['calibrationCount', 'accuracyCount'] as const) {
    if (s[key] !== undefined && !is.posInt(s[key])) throw invalid(`${where}.${key}`, 'a positive integer', s[key]);
  }
  const out: StudySuite = { input: s.input, models: [...s.models] };
  if (s.calibration !== undefined) out.calibration = s.calibration;
  if (s.calibrationCount !== undefined) out.calibrationCount = s.calibrationCount;
  if (s.accuracy !== undefined) out.accuracy = s.accuracy;
  if (s.accuracyCount !== undefined) out.accuracyCount = s.accuracyCount;
  return out;
}

/**
 * Resolve a user config (with an optional preset underneath) into a complete, validated StudyConfig.
 * Fields of `input` override the preset's; flat suite fields (models, input, ...) describe one suite.
 */
export function resolveStudyConfig(input: StudyConfigInput): StudyConfig {
  if (!is.object(input)) throw invalid('study config', 'an object', input);
  let base: StudyConfigInput = {};
  if (input.preset !== undefined) {
    const preset = PRESETS[input.preset];
    if (!preset) throw invalid('preset', `one of ${Object.keys(PRESETS).join(', ')}`, input.preset);
    base = preset;
  }
  const merged: StudyConfigInput = { ...base };
  for (const [k, v] of Object.entries(input)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;

  let suites: unknown;
  if (input.suites !== undefined) suites = input.suites;
  else if (input.models !== undefined || input.input !== undefined) {
    // Flat fields describe one suite; they replace a preset's suites rather than mixing with them.
    const { input: setting = DEFAULT_INPUT, models, calibration, calibrationCount, accuracy, accuracyCount } = input;
    suites = [{ input: setting, models, calibration, calibrationCount, accuracy, accuracyCount }];
  } else suites = base.suites;
  if (!Array.isArray(suites) || suites.length === 0) {
    throw new TrtnError('ERR_INVALID_ARG', 'a study needs models: pass --model <name|file.onnx> (and --input), a --config file, or --preset study-cpu');
  }
  const precisions = merged.precisions ?? [...STUDY_PRECISIONS];
  if (!Array.isArray(precisions) || precisions.length === 0 || !precisions.every((p) => is.oneOf(p, STUDY_PRECISIONS))) {
    throw invalid('precisions', `a list of ${STUDY_PRECISIONS.join(', ')}`, Array.isArray(precisions) ? precisions.join(',') : precisions);
  }
  const backend = merged.backend ?? 'auto';
  if (!is.oneOf(backend, STUDY_BACKENDS)) throw invalid('backend', STUDY_BACKENDS.join(', '), backend);
  const num = (key: 'warmupMs' | 'durationMs' | 'iterations' | 'maxCv' | 'remeasures', ok: (v: unknown) => boolean, what: string): number => {
    const v = merged[key] ?? MEASURE_DEFAULTS[key];
    if (!ok(v)) throw invalid(key, what, v);
    return v as number;
  };
  const warmupMs = num('warmupMs', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, 'a non-negative number of milliseconds');
  const durationMs = num('durationMs', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, 'a non-negative number of milliseconds');
  const iterations = num('iterations', is.posInt, 'a positive integer');
  const maxCv = num('maxCv', (v) => typeof v === 'number' && v > 0 && Number.isFinite(v), 'a positive number (e.g. 0.1 for 10%)');
  const remeasures = num('remeasures', is.nonNegInt, 'a non-negative integer');
  const streams = merged.streams ?? DEFAULT_STREAMS;
  if (!is.posInt(streams)) throw invalid('streams', 'a positive integer', streams);
  const enginePerBatch = merged.enginePerBatch ?? true;
  if (typeof enginePerBatch !== 'boolean') throw invalid('enginePerBatch', 'true or false', enginePerBatch);
  const calibAlgorithm = merged.calibAlgorithm ?? 'entropy';
  if (!is.oneOf(calibAlgorithm, CALIB_ALGORITHMS)) throw invalid('calibAlgorithm', CALIB_ALGORITHMS.join(', '), calibAlgorithm);
  if (merged.threads !== undefined && !is.posInt(merged.threads)) throw invalid('threads', 'a positive integer', merged.threads);
  const seed = merged.seed ?? 0;
  if (!Number.isInteger(seed)) throw invalid('seed', 'an integer', seed);
  const config: StudyConfig = {
    suites: suites.map((s, i) => validateSuite(s, `suites[${i}]`)),
    batchSizes: posIntList('batchSizes', merged.batchSizes ?? [...DEFAULT_BATCH_SIZES]),
    precisions: STUDY_PRECISIONS.filter((p) => (precisions as string[]).includes(p)),
    backend,
    warmupMs,
    durationMs,
    iterations,
    maxCv,
    remeasures,
    streams,
    enginePerBatch,
    calibAlgorithm,
    seed,
  };
  if (merged.threads !== undefined) config.threads = merged.threads;
  return config;
}
