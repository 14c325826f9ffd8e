import { describe, expect, it } from 'vitest';
import { TensorStats } from '../../lib/calib/histogram.js';
import { calibKernels } from '../../lib/calib/kernels.js';
import { collectStatistics } from '../../lib/calib/calibrate.js';
import { fashionMnist, subset } from '../../lib/data/index.js';
import { loadModel } from '../../lib/onnx/io.js';
import { planQdq } from '../../lib/onnx/qdq.js';
import type { Feeds } from '../../lib/data/types.js';
import '../../lib/backends/onnxruntime/index.js'; // calibration's statistics host

let seed = 5;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());

/** A batch like an activation: post-Relu zeros in runs, a Gaussian body, a few far values; odd lengths. */
function batch(n: number, scale: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = gauss();
    v[i] = (i >> 5) % 3 === 0 ? 0 : rnd() < 0.001 ? g * scale * 50 : g * scale;
  }
  return v;
}

function expectSame(a: TensorStats, b: TensorStats, what: string): void {
  expect([a.min, a.max, a.count, a.range], what).toEqual([b.min, b.max, b.count, b.range]);
  expect(Array.from(a.bins), what).toEqual(Array.from(b.bins));
}

describe('native histogram kernel (native/calib/histogram.cc)', () => {
  it('is built into the addon and loadable by a worker', () => {
    expect(calibKernels()?.histogramAdd).toBeTypeOf('function');
    expect(calibKernels()?.file).toMatch(/\.node$/);
  });

  it('gives exactly what the JavaScript loop gives, re-binning included', () => {
    for (const bins of [2, 7, 64, 2048]) {
      const native = new TensorStats('t', bins);
      const js = new TensorStats('t', bins);
      for (let b = 0; b < 12; b++) {
        // growing scales force power-of-two re-binning mid-batch; lengths not multiples of the kernel's blocks
        const v = batch(1 + Math.floor(rnd() * 5000), 0.5 * 1.7 ** b);
        native.add(v, b);
        js.addJs(v, b);
        expectSame(native, js, `${bins} bins, batch ${b}`);
      }
    }
    // a tensor large enough to be binned on several threads
    for (const threads of [2, 3, 8]) {
      const native = new TensorStats('big');
      const js = new TensorStats('big');
      for (let b = 0; b < 3; b++) {
        const v = batch(600_000 + 77 * b, 2 ** b);
        native.add(v, b, threads);
        js.addJs(v, b);
        expectSame(native, js, `${threads} threads, batch ${b}`);
      }
    }
    const zeros = new TensorStats('z', 16);
    zeros.add(new Float32Array(1000));
    expect([zeros.range, zeros.bins[0], zeros.count]).toEqual([0, 1000, 1000]);
  });

  it('reports the first NaN or Inf by index, as the JavaScript loop does, and changes nothing', () => {
    for (const [at, bad] of [[0, NaN], [300, Infinity], [777, -Infinity], [1023, NaN]] as const) {
      const v = batch(1024, 1);
      v[at] = bad;
      v[1000] = NaN; // a later one is not the one reported (unless it is the first)
      const first = Math.min(at, 1000);
      const what = Number.isNaN(v[first]!) ? 'NaN' : v[first]! > 0 ? '\\+Inf' : '-Inf';
      const good = batch(512, 1);
      const s = new TensorStats('conv', 64);
      s.add(good, 0);
      const before = new TensorStats('conv', 64);
      before.addJs(good, 0);
      expect(() => s.add(v, 4)).toThrow(new RegExp(`'conv' has ${what} at index ${first} in calibration batch 4`));
      expect(() => before.addJs(v, 4)).toThrow(new RegExp(`'conv' has ${what} at index ${first} in calibration batch 4`));
      expectSame(s, before, 'after the bad batch');
    }
  });
});

describe('statistics collected in the ONNX Runtime worker', () => {
  const cnn = loadModel('test/fixtures/models/fmnist_cnn.onnx');

  it('equal what TensorStats computes from the same batches on this thread', async () => {
    const train = await fashionMnist({ split: 'train' });
    const data = subset(train, 200, { seed: 9 });
    const { stats } = await collectStatistics(cnn, ['input'], data, { batchSize: 64 });
    const here = new TensorStats('input');
    let b = 0;
    for await (const batch of data.batches({ batchSize: 64 })) here.addJs(batch.feeds.input!.data as Float32Array, b++);
    expectSame(stats.get('input')!, here, 'input');
  });

  it('a NaN reaching an intermediate tensor is ERR_CALIB_DATA naming that tensor and the batch', async () => {
    const tensors = planQdq(cnn).calibrate; // not the input: the NaN is met after the first conv
    const feed = (values: Float32Array): Feeds => ({ input: { data: values, dims: [2, 1, 28, 28], dtype: 'float32' } });
    const bad = new Float32Array(784 * 2).fill(0.5);
    bad[400] = NaN;
    const err = await collectStatistics(cnn, tensors, [feed(new Float32Array(784 * 2).fill(0.5)), feed(new Float32Array(784 * 2)), feed(bad)], {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CALIB_DATA', details: { tensor: tensors[0], batch: 2 } });
    expect((err as Error).message).toMatch(new RegExp(`'${tensors[0]}' has NaN at index \\d+ in calibration batch 2`));
  });
});
