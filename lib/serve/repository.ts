/**
 * Triton's model repository layout: <repository>/<name>/config.pbtxt and <repository>/<name>/<version>/model.plan
 * (TensorRT) or model.onnx (ONNX Runtime). Export an engine into one; read one back for serving.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrtnError } from '../errors.js';
import type { Engine, TensorInfo } from '../engine/types.js';
import { is, invalid } from '../engine/options.js';
import { readResults, type StudyResults, type StudyCell } from '../bench/results.js';
import { tritonType } from './dtypes.js';
import {
  DEFAULT_MODEL_FILENAME, PLATFORMS, formatModelConfig, parseModelConfig, unsupportedFields,
  type InstanceKind, type ModelConfig, type TensorConfig,
} from './model-config.js';

export interface DynamicBatchingOptions {
  /** Batch sizes the batcher prefers to form; default: from `study`, else none (largest batch possible). */
  preferredBatchSizes?: number[];
  /** How long a request may wait for others to join its batch (default 100 µs, Triton's suggested start). */
  maxQueueDelayMicroseconds?: number;
  /** A study's results (file path or parsed): preferred sizes are those with the best throughput within `latencyBoundMs`. */
  study?: string | StudyResults;
  /** Bound on a batch's p99 latency for the study-derived sizes (ms). Required with `study`. */
  latencyBoundMs?: number;
  /** Which of the study's models and columns to read; default: the engine's precision column of the only model. */
  studyModel?: string;
  studyColumn?: string;
}

export interface ExportRepositoryOptions {
  /** The model's directory name and config name. */
  name: string;
  /** Version directory (a positive integer; default 1). */
  version?: number;
  /** max_batch_size; default: the batch dimension's largest size (profile max on TensorRT, else 64), 0 when the batch is fixed. */
  maxBatch?: number;
  /** true for Triton's defaults, or the batcher's settings; default off. */
  dynamicBatching?: boolean | DynamicBatchingOptions;
  /** Model instances: a count, or count and kind (default: 1, KIND_GPU for TensorRT, KIND_CPU for ONNX Runtime). */
  instances?: number | { count: number; kind?: InstanceKind };
}

export interface ExportedRepository {
  /** <repository>/<name> */
  modelDir: string;
  configFile: string;
  modelFile: string;
  config: ModelConfig;
}

const dynamicDim = (d: number | string | undefined): boolean => typeof d === 'string' || d === -1;

function checkName(name: unknown): asserts name is string {
  if (!is.string(name) || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) throw invalid('name', 'a model name of letters, digits, _ . - (it names a directory)', name);
}

function batchable(engine: Engine): TensorInfo | undefined {
  return [...engine.inputs, ...engine.outputs].find((t) => !dynamicDim(t.shape[0]));
}

/**
 * The sizes of the study's `model`/`column` cells whose p99 latency is within `latencyBoundMs`, best throughput
 * first: the best one and any within 10% of its throughput (Triton forms the largest preferred size it can).
 */
export function preferredBatchSizes(results: StudyResults, options: { latencyBoundMs: number; model?: string; column?: string; precision?: string; maxBatch?: number }): number[] {
  if (!(typeof options.latencyBoundMs === 'number' && options.latencyBoundMs > 0)) throw invalid('latencyBoundMs', 'a positive number of milliseconds', options.latencyBoundMs);
  const ok = results.cells.filter((c) => c.status === 'ok');
  const models = [...new Set(ok.map((c) => c.model))];
  const model = options.model ?? (models.length === 1 ? models[0] : undefined);
  if (!model || !models.includes(model)) throw invalid('studyModel', `one of the study's models (${models.join(', ') || 'none measured'})`, options.model);
  const ofModel = ok.filter((c) => c.model === model);
  const columns = [...new Set(ofModel.map((c) => c.column))];
  const column = options.column ?? columns.find((c) => c === options.precision) ?? (columns.length === 1 ? columns[0] : undefined);
  if (!column || !columns.includes(column)) throw invalid('studyColumn', `one of the study's columns for ${model} (${columns.join(', ')})`, options.column ?? options.precision);
  const cells = ofModel.filter((c) => c.column === column && (options.maxBatch === undefined || c.batchSize <= options.maxBatch));
  // p99 where the cell has enough samples for one, else the median (the study reports percentiles only then).
  const tail = (c: StudyCell): number => c.latencyMs!.p99 ?? c.latencyMs!.median;
  const within = cells.filter((c) => tail(c) <= options.latencyBoundMs);
  if (within.length === 0) {
    const fastest = cells.reduce<StudyCell | undefined>((a, c) => (!a || tail(c) < tail(a) ? c : a), undefined);
    throw new TrtnError('ERR_INVALID_ARG', `no batch size of ${model} (${column}) has p99 latency within ${options.latencyBoundMs} ms` + (fastest ? ` (the lowest is ${tail(fastest).toFixed(3)} ms at batch ${fastest.batchSize})` : ''));
  }
  const best = Math.max(...within.map((c) => c.throughput!));
  return [...new Set(within.filter((c) => c.throughput! >= 0.9 * best).map((c) => c.batchSize))].sort((a, b) => a - b);
}

/** The ModelConfig an engine exports as (validated, not written). */
export async function modelConfigFor(engine: Engine, options: ExportRepositoryOptions): Promise<ModelConfig> {
  if (!is.object(options)) throw invalid('options', 'an object', options);
  checkName(options.name);
  const platform = (PLATFORMS as Record<string, string>)[engine.backend];
  if (!platform) throw new TrtnError('ERR_UNSUPPORTED', `an engine on the '${engine.backend}' backend has no model file to export`);
  const fixed = batchable(engine);
  const profileMax = engine.inputs.map((i) => i.profile?.max[0]).filter((m): m is number => m !== undefined);
  const batchLimit = profileMax.length ? Math.min(...profileMax) : undefined;
  let maxBatch = options.maxBatch;
  if (maxBatch === undefined) maxBatch = fixed ? 0 : (batchLimit ?? 64);
  if (!is.nonNegInt(maxBatch)) throw invalid('maxBatch', 'a non-negative integer', maxBatch);
  if (maxBatch > 0 && fixed) {
    throw new TrtnError('ERR_SHAPE', `tensor '${fixed.name}' has a fixed first dimension (${String(fixed.shape[0])}), so the model cannot batch: export it with maxBatch 0`, { tensor: fixed.name });
  }
  if (batchLimit !== undefined && maxBatch > batchLimit) throw invalid('maxBatch', `at most the engine profile's largest batch (${batchLimit})`, maxBatch);
  const tensor = (t: TensorInfo): TensorConfig => ({
    name: t.name,
    dataType: tritonType(t.dtype),
    dims: (maxBatch > 0 ? t.shape.slice(1) : t.shape).map((d) => (dynamicDim(d) ? -1 : (d as number))),
  });
  let dynamicBatching: ModelConfig['dynamicBatching'];
  const db = options.dynamicBatching;
  if (db !== undefined && db !== false) {
    if (maxBatch === 0) throw invalid('dynamicBatching', 'off for a model exported with maxBatch 0 (it cannot batch)', 'on');
    if (db !== true && !is.object(db)) throw invalid('dynamicBatching', 'true or an object', db);
    const o: DynamicBatchingOptions = db === true ? {} : (db as DynamicBatchingOptions);
    let preferred = o.preferredBatchSizes ?? [];
    if (o.preferredBatchSizes !== undefined && !(Array.isArray(preferred) && preferred.every(is.posInt))) throw invalid('dynamicBatching.preferredBatchSizes', 'an array of positive integers', preferred);
    if (o.study !== undefined) {
      if (o.preferredBatchSizes !== undefined) throw invalid('dynamicBatching', 'either preferredBatchSizes or study, not both', 'both');
      const results = typeof o.study === 'string' ? await readResults(o.study) : o.study;
      preferred = preferredBatchSizes(results, {
        latencyBoundMs: o.latencyBoundMs as number, model: o.studyModel, column: o.studyColumn,
        precision: engine.precision, maxBatch,
      });
    }
    const delay = o.maxQueueDelayMicroseconds ?? 100;
    if (!is.nonNegInt(delay)) throw invalid('dynamicBatching.maxQueueDelayMicroseconds', 'a non-negative integer', delay);
    dynamicBatching = { preferredBatchSize: preferred, maxQueueDelayMicroseconds: delay };
  }
  const inst = typeof options.instances === 'number' ? { count: options.instances } : (options.instances ?? { count: 1 });
  if (!is.object(inst) || !is.posInt(inst.count)) throw invalid('instances', 'a positive count or { count, kind }', options.instances);
  const kind: InstanceKind = (inst as { kind?: InstanceKind }).kind ?? (engine.backend === 'tensorrt' ? 'KIND_GPU' : 'KIND_CPU');
  const config: ModelConfig = {
    name: options.name,
    platform,
    maxBatchSize: maxBatch,
    input: engine.inputs.map(tensor),
    output: engine.outputs.map(tensor),
    ...(dynamicBatching ? { dynamicBatching } : {}),
    instanceGroup: [{ count: inst.count, kind }],
    ignored: [],
  };
  formatModelConfig(config); // validates, naming the rule an option broke
  return config;
}

/**
 * Write `engine` into a Triton model repository: <dir>/<name>/config.pbtxt and <dir>/<name>/<version>/model.plan
 * (TensorRT plan) or model.onnx (the ONNX model ONNX Runtime runs: the Q/DQ model for int8). Other versions
 * already in <dir>/<name> are kept; config.pbtxt is rewritten.
 */
export async function exportModelRepository(engine: Engine, dir: string, options: ExportRepositoryOptions): Promise<ExportedRepository> {
  if (!is.string(dir)) throw invalid('dir', 'a directory path', dir);
  const version = options?.version ?? 1;
  if (!is.posInt(version)) throw invalid('version', 'a positive integer', version);
  const config = await modelConfigFor(engine, options);
  const modelDir = join(dir, config.name);
  const modelFile = join(modelDir, String(version), DEFAULT_MODEL_FILENAME[config.platform]!);
  const configFile = join(modelDir, 'config.pbtxt');
  const bytes = engine.serialize();
  try {
    await mkdir(join(modelDir, String(version)), { recursive: true });
    await writeFile(modelFile, bytes);
    await writeFile(configFile, formatModelConfig(config));
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot write model repository entry '${modelDir}': ${(err as Error).message}`, { file: modelDir }, { cause: err });
  }
  return { modelDir, configFile, modelFile, config };
}

export interface RepositoryModel {
  name: string;
  config: ModelConfig;
  configFile: string;
  /** The versions the version policy selects, ascending, with their model files. */
  versions: { version: number; file: string }[];
}

/**
 * Read every model of a repository as Triton would: each subdirectory holding config.pbtxt (its name must match the
 * directory), numeric version subdirectories, version_policy (default: latest 1). Any bad model is an error.
 */
export async function readModelRepository(dir: string): Promise<RepositoryModel[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).sort();
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot read model repository '${dir}': ${(err as Error).message}`, { file: dir }, { cause: err });
  }
  const models: RepositoryModel[] = [];
  for (const entry of entries) {
    const modelDir = join(dir, entry);
    if (!(await stat(modelDir)).isDirectory()) continue;
    const configFile = join(modelDir, 'config.pbtxt');
    let text: string;
    try {
      text = await readFile(configFile, 'utf8');
    } catch (err) {
      throw new TrtnError('ERR_IO', `model '${entry}' has no readable config.pbtxt (${configFile}): ${(err as Error).message}`, { file: configFile }, { cause: err });
    }
    const config = parseModelConfig(text, configFile);
    if (config.name && config.name !== entry) throw new TrtnError('ERR_DATA_FORMAT', `${configFile}: name '${config.name}' does not match its directory '${entry}'`, { file: configFile });
    config.name = entry;
    const unsupported = unsupportedFields(config);
    if (unsupported.length) throw new TrtnError('ERR_UNSUPPORTED', `${configFile}: ${unsupported.join(', ')} cannot be served by trt-node serve`, { file: configFile });
    const filename = config.defaultModelFilename ?? DEFAULT_MODEL_FILENAME[config.platform];
    if (!filename) throw new TrtnError('ERR_UNSUPPORTED', `${configFile}: platform '${config.platform || config.backend}' is not served (${Object.values(PLATFORMS).join(', ')} are)`, { file: configFile });
    const available: number[] = [];
    for (const v of await readdir(modelDir)) {
      if (/^[0-9]+$/.test(v) && Number(v) > 0 && (await stat(join(modelDir, v))).isDirectory()) available.push(Number(v));
    }
    available.sort((a, b) => a - b);
    const policy = config.versionPolicy ?? { latest: 1 };
    const chosen = 'all' in policy ? available : 'latest' in policy ? available.slice(-policy.latest) : available.filter((v) => policy.specific.includes(v));
    if ('specific' in policy) {
      const missing = policy.specific.filter((v) => !available.includes(v));
      if (missing.length) throw new TrtnError('ERR_DATA_FORMAT', `${configFile}: version_policy names version ${missing.join(', ')}, which has no directory`, { file: configFile });
    }
    if (chosen.length === 0) throw new TrtnError('ERR_DATA_FORMAT', `model '${entry}' has no version directory (${modelDir}/<n>/${filename})`, { file: modelDir });
    models.push({ name: entry, config, configFile, versions: chosen.map((version) => ({ version, file: join(modelDir, String(version), filename) })) });
  }
  if (models.length === 0) throw new TrtnError('ERR_DATA_FORMAT', `model repository '${dir}' holds no model (expected <name>/config.pbtxt)`, { file: dir });
  return models;
}

/** ERR_DATA_FORMAT unless the engine's inputs and outputs are the ones config.pbtxt declares. */
export function checkEngineAgainstConfig(engine: Engine, model: RepositoryModel): void {
  const { config, configFile } = model;
  const fail = (tensor: string, why: string): TrtnError => new TrtnError('ERR_DATA_FORMAT', `${configFile}: ${why}`, { file: configFile, tensor });
  for (const [what, declared, actual] of [['input', config.input, engine.inputs], ['output', config.output, engine.outputs]] as const) {
    for (const t of declared) {
      const info = actual.find((a) => a.name === t.name);
      if (!info) throw fail(t.name, `${what} '${t.name}' is not a ${what} of the model (${actual.map((a) => a.name).join(', ')})`);
      if (tritonType(info.dtype) !== t.dataType) throw fail(t.name, `${what} '${t.name}' is ${t.dataType}; the model's is ${tritonType(info.dtype)}`);
      const full = config.maxBatchSize > 0 ? [-1, ...(t.reshape ?? t.dims)] : (t.reshape ?? t.dims);
      if (config.maxBatchSize > 0 && !dynamicDim(info.shape[0])) throw fail(t.name, `max_batch_size ${config.maxBatchSize} but ${what} '${t.name}' has a fixed first dimension ${String(info.shape[0])}`);
      const fits = full.length === info.shape.length && full.every((d, i) => d === -1 || dynamicDim(info.shape[i]) || d === info.shape[i]);
      if (!fits) throw fail(t.name, `${what} '${t.name}' dims [${t.dims.join(', ')}]${config.maxBatchSize > 0 ? ' (plus the batch dimension)' : ''} do not fit the model's shape [${info.shape.join(', ')}]`);
    }
  }
  const missing = engine.inputs.find((i) => !config.input.some((t) => t.name === i.name));
  if (missing) throw fail(missing.name, `the model's input '${missing.name}' is not declared`);
}
