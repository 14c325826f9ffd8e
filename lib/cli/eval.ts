import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import '../backends/onnxruntime/index.js';
import { buildEngine, loadEngine } from '../engine/api.js';
import { getBackend } from '../engine/backend.js';
import { BACKENDS, CALIB_ALGORITHMS, type CalibAlgorithm } from '../engine/options.js';
import type { BackendName, Engine, Precision } from '../engine/types.js';
import { subset } from '../data/dataset.js';
import { datasetFromSpec } from '../data/spec.js';
import { DEFAULT_CALIB_SIZE } from '../quantize/index.js';
import { evaluateTop1 } from '../quantize/evaluate.js';
import { TrtnError } from '../errors.js';
import { checkModelFile } from './model-file.js';
import { oneOf, positiveInt, stderrProgress, trainSpecOf } from './progress.js';

interface EvalCliOptions {
  data: string;
  precision: Precision;
  backend: 'auto' | BackendName;
  calib?: string;
  calibSize: number;
  algorithm: CalibAlgorithm;
  batchSize: number;
  limit?: number;
  json?: boolean;
}

function isOnnx(path: string): boolean {
  try {
    return getBackend('onnxruntime').recognises(new Uint8Array(readFileSync(path)));
  } catch {
    return false;
  }
}

/** `trt-node eval <model.onnx|plan> --data <spec>`: top-1 accuracy at a precision on a backend. */
export function registerEval(program: Command): Command {
  return program
    .command('eval <model>')
    .description('top-1 accuracy of a model (ONNX, built at --precision) or a saved engine on a labelled data spec')
    .requiredOption('--data <spec>', 'evaluation data, e.g. fashion-mnist:test')
    .option('--precision <p>', 'fp32|fp16|int8|best', 'fp32')
    .option('--backend <name>', `${BACKENDS.join('|')}`, 'auto')
    .option('--calib <spec>', 'int8 calibration data (default: the train split of --data)')
    .option('--calib-size <n>', 'calibration images (stratified subset)', positiveInt('--calib-size'), DEFAULT_CALIB_SIZE)
    .option('--algorithm <name>', `calibration algorithm: ${CALIB_ALGORITHMS.join('|')}`, 'entropy')
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), 64)
    .option('--limit <n>', 'evaluate the first n items only', positiveInt('--limit'))
    .option('--json', 'print one JSON object: { top1, count, precision, backend, path, ... }')
    .action(async (modelPath: string, o: EvalCliOptions) => {
      oneOf('--precision', o.precision, ['fp32', 'fp16', 'int8', 'best']);
      oneOf('--backend', o.backend, BACKENDS);
      oneOf('--algorithm', o.algorithm, CALIB_ALGORITHMS);
      await checkModelFile(modelPath);
      const progress = stderrProgress(o.json);
      const data = await datasetFromSpec(o.data, { split: 'test' });
      let engine: Engine;
      // fp32 of an ONNX file runs it as it is (a Q/DQ or FP16 file reports its own precision, as loadEngine reads it).
      if (isOnnx(modelPath) && o.precision !== 'fp32') {
        let calib;
        if (o.precision === 'int8' || (o.precision === 'best' && o.calib)) {
          const spec = o.calib ?? trainSpecOf(o.data);
          if (!spec) throw new TrtnError('ERR_INVALID_ARG', `--precision ${o.precision} needs --calib <spec> (no train split can be derived from '${o.data}')`);
          const calibSet = await datasetFromSpec(spec, { split: 'train' });
          const n = Math.min(o.calibSize, calibSet.length);
          calib = { data: n < calibSet.length ? subset(calibSet, n, { stratified: true }) : calibSet, batchSize: o.batchSize, maxBatches: Math.ceil(n / o.batchSize), algorithm: o.algorithm };
        }
        engine = await buildEngine(modelPath, { precision: o.precision, backend: o.backend, calib, onProgress: progress });
      } else {
        engine = await loadEngine(modelPath, { backend: o.backend });
      }
      try {
        const r = await evaluateTop1(engine, data, { batchSize: o.batchSize, limit: o.limit, onProgress: progress });
        const result = { top1: r.top1, count: r.count, correct: r.correct, precision: engine.precision, backend: engine.backend, path: engine.path, seconds: r.seconds };
        process.stdout.write(o.json ? `${JSON.stringify(result)}\n` : `top-1 ${(r.top1 * 100).toFixed(2)}% (${r.correct}/${r.count}) ${engine.backend} ${engine.path}\n`);
      } finally {
        await engine[Symbol.asyncDispose]();
      }
    });
}
