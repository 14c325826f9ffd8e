#!/usr/bin/env node
// trt-node: one file per command under lib/cli/, each a thin shell over the library.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import '../backends/index.js';
import { packageRoot } from '../native/addon.js';
import { TrtnError } from '../errors.js';
import { registerDoctor } from './doctor.js';
import { registerBench } from './bench.js';
import { registerReport } from './report.js';
import { registerCalibrate } from './calibrate.js';
import { registerQuantize } from './quantize.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerServe } from './serve.js';

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };

export function createProgram(): Command {
  const program = new Command('trt-node')
    .description('TensorRT and ONNX Runtime engines per precision: build, calibrate, evaluate, benchmark, report')
    .version(pkg.version);
  registerDoctor(program);
  registerCalibrate(program);
  registerQuantize(program);
  registerEval(program);
  registerBench(program);
  registerReport(program);
  registerExport(program);
  registerServe(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof TrtnError) {
      process.stderr.write(`trt-node: ${err.code}: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

// Run when executed directly (bin or `node dist/cli/main.js`), not when imported by tests.
const invoked = process.argv[1] ? process.argv[1].replace(/\\/g, '/') : '';
if (invoked.endsWith('/cli/main.js') || invoked.endsWith('/trt-node') || invoked.endsWith('/cli/main.ts')) {
  await main();
}
