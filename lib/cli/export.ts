import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { buildEngine } from '../engine/api.js';
import { BACKENDS, CALIB_ALGORITHMS, type CalibAlgorithm } from '../engine/options.js';
import type { BackendName, Precision } from '../engine/types.js';
import { subset } from '../data/dataset.js';
import { datasetFromSpec } from '../data/spec.js';
import { DEFAULT_CALIB_SIZE } from '../quantize/index.js';
import { exportModelRepository, type DynamicBatchingOptions } from '../serve/repository.js';
import { positiveInt, stderrProgress } from './progress.js';

interface ExportCliOptions {
  repository: string;
  precision: Precision;
  backend: 'auto' | BackendName;
  name?: string;
  modelVersion: number;
  maxBatch?: number;
  dynamicBatching?: boolean;
  preferred?: number[];
  queueDelayUs?: number;
  study?: string;
  latencyBoundMs?: number;
  studyModel?: string;
  studyColumn?: string;
  instances: number;
  calib?: string;
  calibSize: number;
  algorithm: CalibAlgorithm;
}

function nonNegativeInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

/** `trt-node export <model.onnx> --precision p --repository dir`: build, then write a Triton model repository entry. */
export function registerExport(program: Command): Command {
  return program
    .command('export <model>')
    .description('build an engine at --precision and write it into a Triton model repository (<dir>/<name>/config.pbtxt, <dir>/<name>/<version>/model.plan|model.onnx)')
    .requiredOption('--repository <dir>', 'model repository directory (created if missing)')
    .option('--precision <p>', 'fp32|fp16|int8|best', 'fp32')
    .option('--backend <name>', `${BACKENDS.filter((b) => b !== 'remote').join('|')}`, 'auto')
    .option('--name <name>', 'model name (default: the file name without extension)')
    .option('--model-version <n>', 'version directory', positiveInt('--model-version'), 1)
    .option('--max-batch <n>', 'max_batch_size (0: the model does not batch)', nonNegativeInt('--max-batch'))
    .option('--dynamic-batching', 'write dynamic_batching (implied by --preferred, --queue-delay-us and --study)')
    .option('--preferred <sizes...>', 'preferred batch sizes', (v: string, prev: number[] = []) => [...prev, positiveInt('--preferred')(v)])
    .option('--queue-delay-us <n>', 'max_queue_delay_microseconds (default 100)', nonNegativeInt('--queue-delay-us'))
    .option('--study <results.json>', 'take preferred batch sizes from a study: best throughput within --latency-bound-ms')
    .option('--latency-bound-ms <ms>', 'p99 latency bound for --study', (v: string) => Number(v))
    .option('--study-model <name>', "the study's model to read (default: its only one)")
    .option('--study-column <label>', "the study's column to read (default: the --precision column)")
    .option('--instances <n>', 'instance_group count', positiveInt('--instances'), 1)
    .option('--calib <spec>', 'int8 calibration data, e.g. fashion-mnist:train')
    .option('--calib-size <n>', 'calibration images (stratified subset)', positiveInt('--calib-size'), DEFAULT_CALIB_SIZE)
    .option('--algorithm <name>', `calibration algorithm: ${CALIB_ALGORITHMS.join('|')}`, 'entropy')
    .action(async (modelPath: string, o: ExportCliOptions) => {
      let calib;
      if (o.calib) {
        const set = await datasetFromSpec(o.calib, { split: 'train' });
        const n = Math.min(o.calibSize, set.length);
        calib = { data: n < set.length ? subset(set, n, { stratified: true }) : set, batchSize: 64, maxBatches: Math.ceil(n / 64), algorithm: o.algorithm };
      }
      const engine = await buildEngine(modelPath, { precision: o.precision, backend: o.backend, calib, maxBatch: o.maxBatch || undefined, onProgress: stderrProgress(false) });
      try {
        const batching = o.dynamicBatching || o.preferred || o.queueDelayUs !== undefined || o.study;
        const dynamicBatching: DynamicBatchingOptions | undefined = batching
          ? { preferredBatchSizes: o.preferred, maxQueueDelayMicroseconds: o.queueDelayUs, study: o.study, latencyBoundMs: o.latencyBoundMs, studyModel: o.studyModel, studyColumn: o.studyColumn }
          : undefined;
        const name = o.name ?? basename(modelPath, extname(modelPath)).replace(/[^A-Za-z0-9_.-]/g, '_');
        const out = await exportModelRepository(engine, o.repository, { name, version: o.modelVersion, maxBatch: o.maxBatch, dynamicBatching, instances: o.instances });
        process.stderr.write(`${engine.backend} ${engine.path} -> ${out.modelFile}\n${out.configFile}:\n`);
        process.stdout.write(await readFile(out.configFile, 'utf8'));
      } finally {
        await engine[Symbol.asyncDispose]();
      }
    });
}
