/** `trt-node bench`: run the study matrix from flags, a JSON config or a preset; a thin shell over lib/bench. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TrtnError } from '../errors.js';
import { resolveStudyConfig, type StudyConfigInput } from '../bench/config.js';
import { runStudy } from '../bench/runner.js';
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
  iterations?: string;
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
  set('warmup', integer('warmup', flags.warmup));
  set('iterations', integer('iterations', flags.iterations));
  set('threads', integer('threads', flags.threads));
  set('seed', integer('seed', flags.seed));
  resolveStudyConfig(input); // fail on a bad flag before any work starts
  return input;
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
      if (!flags.json) process.stderr.write(`wrote ${written.files.length} files to ${written.dir}/ (report.md, report.html, results.json, results.csv, charts/)\n`);
    }
    process.stdout.write(flags.json ? `${JSON.stringify(results, null, 2)}\n` : flags.out ? '' : `${toMarkdown(results)}\n`);
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
    .option('--preset <name>', "a named study: 'study-cpu'")
    .option('-m, --model <names...>', 'generator names (vgg16, resnet50, mobilenet_v1, cnn) or ONNX paths')
    .option('--input <setting>', "input setting: cifar10-48, catsdogs-128, fmnist-28 or CxHxW (default cifar10-48)")
    .option('-b, --batch-sizes <list>', 'comma-separated batch sizes (default 8,16,32,64)')
    .option('-p, --precisions <list>', 'comma-separated of base,fp32,fp16,int8 (default all)')
    .option('--backend <name>', 'auto, tensorrt or onnxruntime (default auto)')
    .option('--calib-data <spec>', "calibration data spec, e.g. 'fashion-mnist:train' (default synthetic)")
    .option('--calib-count <n>', 'calibration items (default 512)')
    .option('--accuracy-data <spec>', "labelled data spec for top-1 accuracy, e.g. 'fashion-mnist:test'")
    .option('--accuracy-count <n>', 'accuracy items (default all)')
    .option('--warmup <n>', 'warm-up runs per batch size (default 2)')
    .option('--iterations <n>', 'timed runs per batch size (default 10)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads')
    .option('--seed <n>', 'seed for generated models and data (default 0)')
    .option('-o, --out <dir>', 'write results.json, results.csv, report.md, report.html and charts/ here')
    .option('--json', 'print results.json to stdout, no progress')
    .option('--verbose', 'log backend choices and skipped cells to stderr')
    .option('--endpoint <url>', 'measure a served model instead (http://host:port/v2/models/<name>): -b, --iterations (requests), --warmup, --concurrency')
    .option('--concurrency <list>', 'with --endpoint: comma-separated concurrent clients (default 1)')
    .action((flags: BenchFlags & { endpoint?: string; concurrency?: string }) => (flags.endpoint ? benchEndpointAction({ ...flags, endpoint: flags.endpoint }) : benchAction(flags)));
}
