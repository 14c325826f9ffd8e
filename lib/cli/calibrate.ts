import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import '../backends/onnxruntime/index.js';
import { CALIB_ALGORITHMS, type CalibAlgorithm } from '../engine/options.js';
import { datasetFromSpec } from '../data/spec.js';
import { calibrate } from '../calib/calibrate.js';
import { calibratorName, writeCalibrationCache } from '../calib/cache.js';
import { foldBatchNorm } from '../onnx/fold.js';
import { loadModel } from '../onnx/io.js';
import { planQdq } from '../onnx/qdq.js';
import { calibrationSource, DEFAULT_CALIB_SIZE } from '../quantize/index.js';
import { checkModelFile } from './model-file.js';
import { oneOf, outputFile, positiveInt, stderrProgress } from './progress.js';

interface CalibrateCliOptions {
  data: string;
  algorithm: CalibAlgorithm;
  calibSize: number;
  batchSize: number;
  cache: string;
  all?: boolean;
}

/** `trt-node calibrate <model.onnx> --data <spec> --cache <file>`: write a TensorRT calibration cache. */
export function registerCalibrate(program: Command): Command {
  return program
    .command('calibrate <model>')
    .description('calibrate an ONNX model on a data spec and write a TensorRT calibration cache (scale = amax/127)')
    .requiredOption('--data <spec>', 'calibration data, e.g. fashion-mnist:train (a stratified subset is used)')
    .option('--algorithm <name>', `threshold algorithm: ${CALIB_ALGORITHMS.filter((a) => a !== 'legacy-entropy').join('|')}`, 'entropy')
    .option('--calib-size <n>', 'calibration images', positiveInt('--calib-size'), DEFAULT_CALIB_SIZE)
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), 64)
    .option('--all', 'scale every float tensor (for TensorRT implicit INT8), not only the Q/DQ inputs')
    .requiredOption('--cache <file>', 'calibration cache to write')
    .action(async (modelPath: string, o: CalibrateCliOptions) => {
      oneOf('--algorithm', o.algorithm, CALIB_ALGORITHMS.filter((a) => a !== 'legacy-entropy'));
      outputFile('--cache', o.cache);
      await checkModelFile(modelPath);
      const model = foldBatchNorm(loadModel(modelPath));
      const tensors = o.all
        ? [...new Set([...model.graph.inputs.filter((v) => !model.graph.initializers.some((t) => t.name === v.name)).map((v) => v.name), ...model.graph.nodes.flatMap((n) => n.outputs).filter((t) => t !== '')])]
        : planQdq(model).calibrate;
      const { source, limit } = calibrationSource(await datasetFromSpec(o.data, { split: 'train' }), o.calibSize);
      const result = await calibrate(model, tensors, source, { algorithm: o.algorithm, batchSize: o.batchSize, limit, onProgress: stderrProgress(false) });
      writeFileSync(o.cache, writeCalibrationCache(result.scales, { calibrator: calibratorName(o.algorithm) }));
      process.stderr.write(`wrote ${result.scales.size} scales (${o.algorithm}, ${result.images} images) to ${o.cache}\n`);
    });
}
