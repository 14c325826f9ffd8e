/** Hand-made study results shared by the report and comparison tests. */
import { relateToBase } from '../../lib/bench/runner.js';
import { STUDY_SCHEMA, type StudyCell, type StudyResults } from '../../lib/bench/results.js';
import { summarize } from '../../lib/bench/stats.js';
import { resolveStudyConfig } from '../../lib/bench/config.js';
import { cellStats } from '../../lib/bench/measure.js';

// Hand-made measurements: base 10 ms / 40 ms, int8 4 ms / 10 ms at batch 1 / 4 (median of each segment's samples);
// throughput runs: base 100 / 100 img/s, int8 200 / 400 img/s.
export function cell(column: string, precision: StudyCell['precision'], batchSize: number, segments: number[][], throughput: number, extra: Partial<StudyCell> = {}): StudyCell {
  const latencyMs = cellStats(segments.map((samples) => ({ stats: summarize(samples), samples, n: samples.length })));
  return {
    input: '3x48x48', inputShape: [3, 48, 48], model: 'vgg16', modelSource: 'vgg16', precision, backend: 'onnxruntime', column, batchSize,
    status: 'ok', latencyMs, wallMs: summarize(segments.flat()), throughput, throughputNoise: 0.02, streams: 2, timer: 'host', unstable: false, attempts: 1,
    loadBefore: 1.5, loadAfter: 1.75, overheadMs: 0.02, overheadRatio: 0.02 / latencyMs.median,
    buildMs: 1500, modelBytes: 2 ** 21, engineBytes: 2 ** 19, peakRssBytes: 2 ** 28, path: 'test',
    ...extra,
  };
}

export function makeResults(): StudyResults {
  const cells: StudyCell[] = [
    cell('base', 'base', 1, [[9, 10, 11], [10, 10, 10]], 100),
    cell('base', 'base', 4, [[40, 38, 42], [40, 41, 39]], 100),
    cell('int8', 'int8', 1, [[4, 4, 5], [4, 3, 4]], 200),
    cell('int8', 'int8', 4, [[10, 12, 9], [10, 10, 11]], 400, { unstable: true, attempts: 2 }),
    ...[1, 4].map((batchSize): StudyCell => ({
      input: '3x48x48', inputShape: [3, 48, 48], model: 'vgg16', modelSource: 'vgg16', precision: 'int8', backend: 'tensorrt', column: 'int8 (tensorrt)', batchSize,
      status: 'unavailable', error: { code: 'ERR_BACKEND_UNAVAILABLE', message: "backend 'tensorrt' is not registered, \"quoted\"" },
    })),
  ];
  relateToBase(cells);
  return {
    schema: STUDY_SCHEMA,
    createdAt: '2025-01-01T00:00:00.000Z',
    durationMs: 1234,
    environment: { cpu: { model: 'Test CPU', cores: 2 }, memoryBytes: 2 ** 34, os: 'linux', node: 'v20', loadAverage: [1, 1, 1], versions: { 'tensorrt-node': '0.1.0' }, backends: {} },
    config: resolveStudyConfig({ models: ['vgg16'], batchSizes: [1, 4], precisions: ['base', 'int8'], iterations: 3, warmupMs: 1, durationMs: 1 }),
    cells,
  };
}

/** The same study measured on the Fashion-MNIST fixture, with accuracy (one column's failed). */
export function withAccuracy(): StudyResults {
  const r = makeResults();
  for (const c of r.cells) {
    Object.assign(c, { input: 'fmnist-28', inputShape: [1, 28, 28], model: 'fmnist_cnn', modelSource: 'test/fixtures/models/fmnist_cnn.onnx' });
    if (c.status !== 'ok') continue;
    if (c.precision === 'int8') Object.assign(c, { accuracy: null, accuracyError: { code: 'ERR_DATA', message: "accuracy data 'x' has no labels" } });
    else c.accuracy = { dataset: 'fashion-mnist:test', top1: 0.925, correct: 37, total: 40 };
  }
  return r;
}


/**
 * Capture what a CLI action writes: start() replaces process.stdout/stderr.write, restore() puts them back and
 * clears process.exitCode (call it in afterEach).
 */
export function outputCapture(): { stdout: string[]; stderr: string[]; start(): void; restore(): void } {
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const c = {
    stdout: [] as string[],
    stderr: [] as string[],
    start() {
      process.stdout.write = ((t: string) => c.stdout.push(t) > 0) as typeof process.stdout.write;
      process.stderr.write = ((t: string) => c.stderr.push(t) > 0) as typeof process.stderr.write;
    },
    restore() {
      process.stdout.write = write;
      process.stderr.write = writeErr;
      process.exitCode = undefined;
      c.stdout.length = 0;
      c.stderr.length = 0;
    },
  };
  return c;
}
