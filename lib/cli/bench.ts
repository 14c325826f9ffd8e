/** `trt-node bench`: run the study matrix from flags, a JSON config or a preset; a thin shell over lib/bench. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TrtnError, type ErrorCode } from '../errors.js';
import { DEFAULT_INPUT, MEASURE_DEFAULTS, PRESETS, resolveStudyConfig, type StudyConfigInput } from '../bench/config.js';
import { runStudy } from '../bench/runner.js';
import type { StudyResults } from '../bench/results.js';
import { writeReports } from '../bench/report/write.js';
import { toMarkdown } from '../bench/report/markdown.js';
import { createProgressReporter } from '../bench/progress.js';
import type { Logger } from '../engine/types.js';
import { benchEndpointAction } from './serve.js';

export interface BenchFlags {
  config?: string;
  preset?: string;
  model?: string[];
  input?: string;
  batchSizes?: string;
  precisions?: string;
  backend?: string;
  calibData?: string;
  calibCount?: string;
  accuracyData?: string;
  accuracyCount?: string;
  warmup?: string;
  duration?: string;
  iterations?: string;
  maxCv?: string;
  remeasures?: string;
  streams?: string;
  threads?: string;
  seed?: string;
  out?: string;
  json?: boolean;
  verbose?: boolean;
}

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(value.trim())) throw new TrtnError('ERR_INVALID_ARG', `Expected an integer for --${flag} but received ${JSON.stringify(value)}`);
  return Number(value);
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.trim().replace(/%$/, ''));
  if (value.trim() === '' || !Number.isFinite(n)) throw new TrtnError('ERR_INVALID_ARG', `Expected a number for --${flag} but received ${JSON.stringify(value)}`);
  return value.trim().endsWith('%') ? n / 100 : n;
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

async function readConfigFile(file: string): Promise<StudyConfigInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot read config file '${file}': ${(err as Error).message}`, { file });
  }
  try {
    return JSON.parse(text) as StudyConfigInput;
  } catch (err) {
    throw new TrtnError('ERR_INVALID_ARG', `config file '${file}' is not valid JSON: ${(err as Error).message}`, { file });
  }
}

/** Flags over the config file over the preset: the study config the flags describe. */
export async function configFromFlags(flags: BenchFlags): Promise<StudyConfigInput> {
  const fromFile = flags.config ? await readConfigFile(flags.config) : {};
  const input: StudyConfigInput = { ...fromFile };
  const set = <K extends keyof StudyConfigInput>(key: K, value: StudyConfigInput[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  set('preset', flags.preset);
  set('models', flags.model?.flatMap((m) => list(m) ?? []));
  set('input', flags.input);
  set('batchSizes', list(flags.batchSizes)?.map((v) => integer('batch-sizes', v)!));
  set('precisions', list(flags.precisions) as StudyConfigInput['precisions']);
  set('backend', flags.backend as StudyConfigInput['backend']);
  set('calibration', flags.calibData);
  set('calibrationCount', integer('calib-count', flags.calibCount));
  set('accuracy', flags.accuracyData);
  set('accuracyCount', integer('accuracy-count', flags.accuracyCount));
  set('warmupMs', number('warmup', flags.warmup));
  const duration = number('duration', flags.duration);
  set('durationMs', duration === undefined ? undefined : duration * 1000);
  set('iterations', integer('iterations', flags.iterations));
  set('maxCv', number('max-cv', flags.maxCv));
  set('remeasures', integer('remeasures', flags.remeasures));
  set('streams', integer('streams', flags.streams));
  set('threads', integer('threads', flags.threads));
  set('seed', integer('seed', flags.seed));
  resolveStudyConfig(input); // fail on a bad flag before any work starts
  return input;
}

/** Exit code of `bench` when some cells were measured and others failed or could not run (errors exit 1). */
export const EXIT_PARTIAL = 2;

export function studyOutcome(results: StudyResults): { total: number; measured: number; failed: number; unavailable: number } {
  const count = (s: string) => results.cells.filter((c) => c.status === s).length;
  return { total: results.cells.length, measured: count('ok'), failed: count('failed'), unavailable: count('unavailable') };
}

export async function benchAction(flags: BenchFlags): Promise<void> {
  const config = await configFromFlags(flags);
  const progress = flags.json ? undefined : createProgressReporter(process.stderr);
  const logger: Logger | undefined = flags.verbose && !flags.json ? (severity, message) => process.stderr.write(`\n[${severity}] ${message}\n`) : undefined;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const results = await runStudy(config, { signal: controller.signal, ...(progress ? { onProgress: progress.onProgress } : {}), ...(logger ? { logger } : {}) });
    progress?.finish();
    if (flags.out) {
      const written = await writeReports(results, flags.out);
      const charts = written.charts ? `, ${written.charts} charts in charts/` : ', no charts (nothing measured to chart)';
      if (!flags.json) process.stderr.write(`wrote report.md, report.html, results.json, results.csv${charts} to ${written.dir}/\n`);
    }
    process.stdout.write(flags.json ? `${JSON.stringify(results, null, 2)}\n` : flags.out ? '' : `${toMarkdown(results)}\n`);
    const outcome = studyOutcome(results);
    if (outcome.measured === 0) {
      const first = results.cells.find((c) => c.error)?.error;
      throw new TrtnError((first?.code ?? 'ERR_INFERENCE') as ErrorCode, `nothing was measured: all ${outcome.total} cells failed or cannot run here${first ? ` (first: ${first.code}: ${first.message})` : ''}`);
    }
    if (outcome.measured < outcome.total) {
      process.stderr.write(`trt-node bench: ${outcome.measured} of ${outcome.total} cells measured; ${outcome.failed} failed, ${outcome.unavailable} cannot run here (reasons in the report's "What did not run")\n`);
      process.exitCode = EXIT_PARTIAL;
    }
  } finally {
    progress?.finish();
    process.removeListener('SIGINT', onSigint);
  }
}

export function registerBench(program: Command): Command {
  return program
    .command('bench')
    .description('Run the study matrix: models x precisions x batch sizes; latency, throughput, speedup (Eq. 19), improvement factor (Eq. 20), accuracy')
    .option('--config <file>', 'JSON study config ({ suites: [{ input, models, calibration, accuracy }], batchSizes, precisions, ... })')
    .option('--preset <name>', `a named study: ${Object.keys(PRESETS).join(', ')}`)
    .option('-m, --model <names...>', 'generator names (vgg16, resnet50, mobilenet_v1, cnn) or ONNX paths')
    .option('--input <setting>', `input shape CxHxW, or a named setting (fmnist-28, catsdogs-128, cifar10-48); default ${DEFAULT_INPUT}, synthetic data unless --calib-data / --accuracy-data say otherwise`)
    .option('-b, --batch-sizes <list>', 'comma-separated batch sizes (default 8,16,32,64)')
    .option('-p, --precisions <list>', 'comma-separated of base,fp32,fp16,int8 (default all)')
    .option('--backend <name>', 'auto, tensorrt or onnxruntime (default auto)')
    .option('--calib-data <spec>', "calibration data spec, e.g. 'fashion-mnist:train' (default synthetic)")
    .option('--calib-count <n>', 'calibration items (default 512)')
    .option('--accuracy-data <spec>', "labelled data spec for top-1 accuracy, e.g. 'fashion-mnist:test'")
    .option('--accuracy-count <n>', 'accuracy items (default all)')
    .option('--warmup <ms>', `time-based warm-up before each timed run, ms (default ${MEASURE_DEFAULTS.warmupMs})`)
    .option('--duration <s>', `shortest timed run per cell, seconds (default ${MEASURE_DEFAULTS.durationMs / 1000})`)
    .option('--iterations <n>', `fewest timed queries per cell (default ${MEASURE_DEFAULTS.iterations})`)
    .option('--max-cv <fraction>', `re-measure, then mark unstable, a latency run whose CV exceeds this (default ${MEASURE_DEFAULTS.maxCv})`)
    .option('--remeasures <n>', `re-measures of an unstable cell (default ${MEASURE_DEFAULTS.remeasures})`)
    .option('--streams <n>', 'queries in flight in the throughput run (default: CPU cores, at most 4)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads')
    .option('--seed <n>', 'seed for generated models and data (default 0)')
    .option('-o, --out <dir>', 'write results.json, results.csv, report.md, report.html and charts/ here')
    .option('--json', 'print results.json to stdout, no progress')
    .option('--verbose', 'log backend choices and skipped cells to stderr')
    .option('--endpoint <url>', 'measure a served model instead (http://host:port/v2/models/<name>): -b, --iterations (requests), --warmup, --concurrency')
    .option('--concurrency <list>', 'with --endpoint: comma-separated concurrent clients (default 1)')
    .action((flags: BenchFlags & { endpoint?: string; concurrency?: string }) => (flags.endpoint ? benchEndpointAction({ ...flags, endpoint: flags.endpoint }) : benchAction(flags)));
}
