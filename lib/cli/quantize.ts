import type { Command } from 'commander';
import '../backends/onnxruntime/index.js';
import { CALIB_ALGORITHMS, type CalibAlgorithm } from '../engine/options.js';
import { datasetFromSpec } from '../data/spec.js';
import { saveModel } from '../onnx/io.js';
import { DEFAULT_CALIB_SIZE, quantizeModel } from '../quantize/index.js';
import { checkModelFile } from './model-file.js';
import { oneOf, outputFile, positiveInt, stderrProgress } from './progress.js';

interface QuantizeCliOptions {
  data?: string;
  algorithm: CalibAlgorithm;
  calibSize: number;
  batchSize: number;
  cache?: string;
  precision: 'int8' | 'fp16';
  output: string;
  target: 'onnxruntime' | 'tensorrt';
  keepFp32?: string[];
  placement: 'rules' | 'measured' | 'auto';
  reduceRange: boolean;
}

/** `trt-node quantize <model.onnx> --precision int8|fp16 -o <out.onnx>`: write the Q/DQ or FP16 model. */
export function registerQuantize(program: Command): Command {
  return program
    .command('quantize <model>')
    .description('write an INT8 Q/DQ model (calibrated, or scales from --cache) or an FP16 model')
    .option('--data <spec>', 'calibration data, e.g. fashion-mnist:train (int8, unless --cache holds the scales)')
    .option('--algorithm <name>', `threshold algorithm: ${CALIB_ALGORITHMS.filter((a) => a !== 'legacy-entropy').join('|')}`, 'entropy')
    .option('--calib-size <n>', 'calibration images', positiveInt('--calib-size'), DEFAULT_CALIB_SIZE)
    .option('--batch-size <n>', 'calibration batch size', positiveInt('--batch-size'), 64)
    .option('--cache <file>', 'calibration cache: read when it exists, else written after calibrating')
    .option('--target <runtime>', 'lay the Q/DQ model out for onnxruntime or tensorrt', 'onnxruntime')
    .option('--keep-fp32 <ops...>', 'fp16: op types or node names kept in float32')
    .option('--placement <mode>', 'int8 for onnxruntime: rules (deterministic), measured (time regions here, keep the faster), or auto (time float prefixes; search regions only if rules are not 1.1x faster than fp32)', 'rules')
    // a written model may run on another CPU: 7-bit weights unless asked (see QuantizeOptions.reduceRange)
    .option('--no-reduce-range', 'int8 for onnxruntime: 8-bit weights in every layer (x86 CPUs without VNNI may saturate them); default 7-bit, depthwise 8-bit')
    .requiredOption('--precision <p>', 'int8 or fp16')
    .requiredOption('-o, --output <file>', 'output ONNX file')
    .action(async (modelPath: string, o: QuantizeCliOptions) => {
      oneOf('--precision', o.precision, ['int8', 'fp16']);
      oneOf('--target', o.target, ['onnxruntime', 'tensorrt']);
      oneOf('--placement', o.placement, ['rules', 'measured', 'auto']);
      oneOf('--algorithm', o.algorithm, CALIB_ALGORITHMS.filter((a) => a !== 'legacy-entropy'));
      outputFile('-o', o.output);
      await checkModelFile(modelPath);
      const data = o.data ? await datasetFromSpec(o.data, { split: 'train' }) : undefined;
      const result = await quantizeModel(modelPath, {
        precision: o.precision, data, algorithm: o.algorithm, calibSize: o.calibSize, batchSize: o.batchSize, cache: o.cache, target: o.target,
        keepFp32: o.keepFp32, placement: o.placement, reduceRange: o.reduceRange, onProgress: stderrProgress(false),
      });
      saveModel(result.model, o.output);
      const floatOps = result.report.qdq?.float ?? [];
      process.stderr.write(`${result.report.path} -> ${o.output}\n`);
      if (result.report.placement) process.stderr.write(`  placement: ${result.report.placement.summary}\n`);
      for (const f of floatOps) process.stderr.write(`  kept float: ${f.node} (${f.opType}): ${f.reason}\n`);
    });
}
