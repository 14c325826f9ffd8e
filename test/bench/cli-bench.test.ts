import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../lib/backends/index.js';
import { benchAction, EXIT_PARTIAL } from '../../lib/cli/bench.js';
import { outputCapture } from './study-fixture.js';

const CNN = 'test/fixtures/models/fmnist_cnn.onnx';
const MISSING = 'test/fixtures/models/nope.onnx';

describe('trt-node bench: exit status says what was measured', () => {
  let dir: string;
  const io = outputCapture();
  const err = io.stderr;
  const capture = () => io.start();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trtn-bench-cli-'));
  });
  afterEach(() => io.restore());
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('nothing measured: a TrtnError with the first reason, and no charts claimed', async () => {
    capture();
    const out = join(dir, 'none');
    await expect(benchAction({ model: [MISSING], input: 'fmnist-28', batchSizes: '1', precisions: 'fp32', out })).rejects.toMatchObject({
      code: 'ERR_IO',
      message: expect.stringMatching(/^nothing was measured: all 1 cells failed or cannot run here \(first: ERR_IO: cannot read model file 'test\/fixtures\/models\/nope\.onnx'/),
    });
    expect(err.join('')).toContain('no charts (nothing measured to chart)');
    expect(await readdir(out)).not.toContain('charts');
  });

  it(`some cells failed: a one-line summary on stderr and exit code ${EXIT_PARTIAL}`, async () => {
    capture();
    const out = join(dir, 'partial');
    await benchAction({ model: [CNN, MISSING], input: 'fmnist-28', batchSizes: '2', precisions: 'fp32', backend: 'onnxruntime', warmup: '0', duration: '0', iterations: '5', streams: '1', out });
    expect(process.exitCode).toBe(EXIT_PARTIAL);
    const lines = err.join('').trimEnd().split('\n');
    expect(lines.at(-1)).toBe('trt-node bench: 1 of 2 cells measured; 1 failed, 0 cannot run here (reasons in the report\'s "What did not run")');
    expect(err.join('')).toMatch(/, [1-9] charts in charts\//);
    expect(await readdir(join(out, 'charts'))).toContain('latency-throughput-fmnist-28-fmnist_cnn.svg');
  });
});
