import { describe, expect, it } from 'vitest';
import { TensorStats } from '../../lib/calib/histogram.js';
import { entropyAmax, entropyKeptReference } from '../../lib/calib/algorithms.js';
import { calibKernels } from '../../lib/calib/kernels.js';
import { collectStatistics } from '../../lib/calib/calibrate.js';
import { fashionMnist, subset } from '../../lib/data/index.js';
import { loadModel } from '../../lib/onnx/io.js';
import { planQdq } from '../../lib/onnx/qdq.js';
import '../../lib/backends/onnxruntime/index.js'; // calibration's statistics host

/** The addon's O(levels)-per-candidate search; undefined where it defers to the reference. */
function entropyKeptFast(hist: Float64Array, levels: number): number | undefined {
  const kernels = calibKernels();
  if (!kernels) throw new Error('the addon with native/calib is not built (npx cmake-js compile)');
  const kept = kernels.entropyKept(hist, levels);
  return kept >= 0 ? kept : undefined;
}

let seed = 11;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());

/** The searched histogram of `stats` (bin 0 counted as bin 1, as entropyAmax does). */
function searched(bins: ArrayLike<number>): Float64Array {
  const h = Float64Array.from(bins);
  h[0] = h[1]!;
  return h;
}

function sample(kind: number, n: number, bins: number): Float64Array {
  const s = new TensorStats('t', bins);
  const v = new Float32Array(n);
  const scale = 0.05 + rnd() * 20;
  for (let i = 0; i < n; i++) {
    const g = gauss();
    if (kind === 0) v[i] = Math.max(0, g) * scale; // post-Relu
    else if (kind === 1) v[i] = g * scale; // symmetric
    else if (kind === 2) v[i] = rnd() < 0.8 ? 0 : Math.exp(2 * g) * scale; // sparse, heavy tail
    else v[i] = Math.round(rnd() * 255) / 255; // discrete levels
  }
  s.add(v.subarray(0, n >> 1), 0);
  s.add(v.subarray(n >> 1).map((x) => x * (1 + 3 * rnd())), 1); // a later batch may re-bin
  return searched(s.bins);
}

describe('entropy search: the native O(levels)-per-candidate form picks what the O(bins)-per-candidate reference picks', () => {
  it('on small histograms of every shape (levels 8, 64 to 256 bins)', () => {
    for (let t = 0; t < 400; t++) {
      const bins = 64 << t % 3;
      const h = t % 5 === 4 ? sparse(bins) : sample(t % 4, 50 + Math.floor(rnd() * 5000), bins);
      const fast = entropyKeptFast(h, 8);
      expect(fast, `case ${t}`).toBeDefined();
      expect(fast, `case ${t}`).toBe(entropyKeptReference(h, 8));
    }
  });

  it('on 2048-bin histograms with 128 levels, as calibration runs it', () => {
    for (let t = 0; t < 24; t++) {
      const h = t % 6 === 5 ? sparse(2048) : sample(t % 4, 20_000 + Math.floor(rnd() * 200_000), 2048);
      expect(entropyKeptFast(h, 128), `case ${t}`).toBe(entropyKeptReference(h, 128));
    }
  });

  it('on the activations of the Fashion-MNIST CNN', async () => {
    const cnn = loadModel('test/fixtures/models/fmnist_cnn.onnx');
    const tensors = planQdq(cnn).calibrate;
    const train = await fashionMnist({ split: 'train' });
    for (const size of [64, 256]) {
      const { stats } = await collectStatistics(cnn, tensors, subset(train, size, { seed: size }), { batchSize: 32 });
      for (const s of stats.values()) {
        const h = searched(s.bins);
        expect(entropyKeptFast(h, 128), s.name).toBe(entropyKeptReference(h, 128));
      }
    }
  });

  it('falls back to the reference where the series would not converge (fractional counts)', () => {
    const h = new Float64Array(256);
    for (let k = 0; k < 256; k++) h[k] = k % 3 === 0 ? 0 : 1e-6 * (1 + (k % 7));
    expect(entropyKeptFast(h, 8)).toBeUndefined();
    const s = new TensorStats('f', 256);
    s.bins.set(h);
    s.range = 1;
    s.min = 0;
    s.max = 1;
    s.count = 1;
    expect(entropyAmax(s, 8)).toBeCloseTo(Math.min(entropyKeptReference(searched(h), 8) / 256, 1), 12);
  });
});

/** Few scattered counts and a lone far outlier: many zero bins, the smoothing shifts at their largest. */
function sparse(bins: number): Float64Array {
  const h = new Float64Array(bins);
  const k = 1 + Math.floor(rnd() * bins * 0.2);
  for (let i = 0; i < k; i++) h[Math.floor(rnd() * rnd() * bins)]! += 1 + Math.floor(rnd() * 4);
  h[bins - 1 - Math.floor(rnd() * (bins >> 4))]! += 1;
  return searched(h);
}
