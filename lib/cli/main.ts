#!/usr/bin/env node
// trt-node: one file per command under lib/cli/, each a thin shell over the library.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
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
import { registerRebuild } from './rebuild.js';

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };

export function createProgram(): Command {
  const program = new Command('trt-node')
    .description('TensorRT and ONNX Runtime engines per precision: build, calibrate, evaluate, benchmark, report')
    .version(pkg.version);
  // Commander's own usage errors (missing required option, unknown option, bad choice) become one-line
  // ERR_INVALID_ARG errors like every other user error; subcommands inherit both settings when created.
  program.exitOverride().configureOutput({ outputError: () => undefined });
  registerDoctor(program);
  registerCalibrate(program);
  registerQuantize(program);
  registerEval(program);
  registerBench(program);
  registerReport(program);
  registerExport(program);
  registerServe(program);
  registerRebuild(program);
  for (const command of program.commands) {
    for (const option of command.options) {
      if (option.mandatory && !/\(required\)$/.test(option.description)) option.description += ' (required)';
    }
    if (!command.options.some((o) => o.long === '--verbose')) command.option('--verbose', 'print the stack trace of an error');
  }
  return program;
}

/** One line for a user: `trt-node: <code>: <what is wrong>[; fix: <fix>]`. */
export function formatCliError(err: unknown): { line: string; exitCode: number } {
  if (err instanceof TrtnError) {
    const fix = typeof err.details.fix === 'string' && !err.message.includes(err.details.fix) ? `; fix: ${err.details.fix}` : '';
    return { line: `trt-node: ${err.code}: ${err.message.replace(/\s*\n\s*/g, ' ')}${fix}`, exitCode: 1 };
  }
  if (err instanceof CommanderError) {
    const message = err.message.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ');
    return { line: `trt-node: ERR_INVALID_ARG: ${message}; see 'trt-node help'`, exitCode: 1 };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { line: `trt-node: internal error: ${message.split('\n')[0]} (a bug: please report it with the output of --verbose and 'trt-node doctor')`, exitCode: 2 };
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (err) {
    // --help and --version end the parse through the same exception, with exit code 0.
    if (err instanceof CommanderError && (err.exitCode === 0 || err.code === 'commander.help' || err.code === 'commander.helpDisplayed' || err.code === 'commander.version')) {
      process.exitCode = err.exitCode;
      return;
    }
    const { line, exitCode } = formatCliError(err);
    process.stderr.write(`${line}\n`);
    if (argv.includes('--verbose') || process.env.TRTN_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    else if (exitCode === 2) process.stderr.write('trt-node: run again with --verbose (or TRTN_DEBUG=1) for the stack trace\n');
    process.exitCode = exitCode;
  }
}

// Run when executed directly (bin or `node dist/cli/main.js`), not when imported by tests.
const invoked = process.argv[1] ? process.argv[1].replace(/\\/g, '/') : '';
if (invoked.endsWith('/cli/main.js') || invoked.endsWith('/trt-node') || invoked.endsWith('/cli/main.ts')) {
  await main();
}
