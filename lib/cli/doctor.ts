import type { Command } from 'commander';
import { doctor, formatDoctorReport } from '../doctor/index.js';

/** `trt-node doctor [--json]`: what is installed, compiled in and usable here, and how to fix what is not. */
export function registerDoctor(program: Command): Command {
  return program
    .command('doctor')
    .description('report Node/addon versions, CUDA devices, TensorRT and ONNX Runtime, and which backends are usable')
    .option('--json', 'print one JSON object instead of text')
    .action(async (options: { json?: boolean }) => {
      const report = await doctor();
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    });
}
