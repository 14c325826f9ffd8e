import { describe, expect, it } from 'vitest';
import { TensorStats } from '../../lib/calib/histogram.js';
import { entropyAmax, entropyDivergence, entropyHistogram, minmaxAmax, percentileAmax, computeAmax, scaleFromAmax } from '../../lib/calib/algorithms.js';
import { isTrtnError } from '../../lib/errors.js';
import { createRandom } from '../../lib/data/random.js';

function statsOf(bins: number[], range: number, min: number, max: number): TensorStats {
  const s = new TensorStats('t', bins.length);
  s.bins.set(bins);
  s.range = range;
  s.min = min;
  s.max = max;
  s.count = bins.reduce((a, b) => a + b, 0);
  return s;
}

describe('TensorStats histogram of |x|', () => {
  it('bins the first batch over [0, its largest |x|], the maximum landing in the last bin', () => {
    const s = new TensorStats('x', 4);
    s.add(new Float32Array([0, 1, -2, 4]));
    expect(s.range).toBe(4);
    expect(Array.from(s.bins)).toEqual([1, 1, 1, 1]);
    expect([s.min, s.max, s.count, s.absMax]).toEqual([-2, 4, 4, 4]);
  });

  it('re-bins by a power of two when a later batch exceeds the range', () => {
    const s = new TensorStats('x', 4);
    s.add(new Float32Array([0, 1, -2, 4]), 0);
    s.add(new Float32Array([8]), 1); // x2: [1+1, 1+1, 0, 0], then 8 -> last bin
    expect(s.range).toBe(8);
    expect(Array.from(s.bins)).toEqual([2, 2, 0, 1]);
    s.add(new Float32Array([-20]), 2); // 8*2 < 20 <= 8*4: range 32, merge by 4 -> [5,0,0,0]; 20/8 = bin 2
    expect(s.range).toBe(32);
    expect(Array.from(s.bins)).toEqual([5, 0, 1, 0]);
    expect([s.min, s.max, s.count]).toEqual([-20, 8, 6]);
  });

  it('keeps an all-zero tensor in bin 0 with range 0', () => {
    const s = new TensorStats('z', 8);
    s.add(new Float32Array(10));
    expect(s.range).toBe(0);
    expect(s.bins[0]).toBe(10);
    expect(minmaxAmax(s)).toBe(0);
    expect(entropyAmax(s)).toBe(0);
    expect(scaleFromAmax(0)).toBeGreaterThan(0);
  });

  it('rejects NaN and Inf with ERR_CALIB_DATA naming the tensor and batch', () => {
    const s = new TensorStats('conv1_out', 16);
    s.add(new Float32Array([1, 2]), 0);
    let err: unknown;
    try {
      s.add(new Float32Array([1, NaN]), 3);
    } catch (e) {
      err = e;
    }
    expect(isTrtnError(err, 'ERR_CALIB_DATA')).toBe(true);
    expect((err as Error).message).toMatch(/conv1_out.*NaN.*batch 3/);
    expect(() => new TensorStats('y', 16).add(new Float32Array([Infinity]), 7)).toThrow(/'y' has \+Inf at index 0 in calibration batch 7/);
    expect(() => s.add(new Float32Array([-Infinity]), 1)).toThrow(/-Inf/);
  });
});

describe('threshold algorithms (hand-computed)', () => {
  it('minmax is the largest |x|', () => {
    const s = new TensorStats('x', 16);
    s.add(new Float32Array([-3.5, 1, 2]));
    expect(minmaxAmax(s)).toBe(3.5);
    expect(computeAmax(s, 'minmax')).toBe(3.5);
  });

  it('percentile returns the upper edge of the bin reaching p% of the counts, capped at the max', () => {
    const s = statsOf([50, 30, 15, 5], 4, -3.9, 3.9);
    expect(percentileAmax(s, 50)).toBe(1); // 50 of 100 reached in bin 0
    expect(percentileAmax(s, 80)).toBe(2); // 50, 80
    expect(percentileAmax(s, 95)).toBe(3); // 50, 80, 95
    expect(percentileAmax(s, 96)).toBeCloseTo(3.9, 12); // bin 3's edge 4 capped at |x|max 3.9
    expect(computeAmax(s, 'percentile', { percentile: 80 })).toBe(2);
  });

  it('entropy: KL of each candidate matches the hand computation and the minimum wins', () => {
    // hist [4, 2, 0, 1], 2 levels. kept=2: P=[4,3]/7, Q=[4,2]/6 -> 0.0196201
    // kept=3: P=[4,2,1]/7, Q=[4,1,1]/6 -> 0.0438914; kept=4: P=[4,2,0,1]/7, Q=[3,3,0,1]/7 -> 0.0485426
    const hist = [4, 2, 0, 1];
    const kl2 = (4 / 7) * Math.log(4 / 7 / (2 / 3)) + (3 / 7) * Math.log(3 / 7 / (1 / 3));
    expect(kl2).toBeCloseTo(0.0196201, 6);
    expect(entropyDivergence(hist, 2, 2)).toBeCloseTo(0.0196201, 6);
    expect(entropyDivergence(hist, 3, 2)).toBeCloseTo(0.0438914, 6);
    expect(entropyDivergence(hist, 4, 2)).toBeCloseTo(0.0485431, 6); // 0.0485426 before smoothing bin 2's zero
    // entropyAmax counts bin 0 (the zero spike of post-Relu tensors) as bin 1: [4,2,0,1] is searched as [2,2,0,1],
    // where kept=4 reproduces P exactly (Q = [2,2,0,1]): KL 0, amax = 4 bins of width 1
    expect(entropyDivergence([2, 2, 0, 1], 4, 2)).toBe(0);
    expect(entropyDivergence([2, 2, 0, 1], 2, 2)).toBeCloseTo(0.4 * Math.log(0.8) + 0.6 * Math.log(1.2), 9);
    expect(entropyAmax(statsOf(hist, 4, 0, 4), 2)).toBe(4);
    expect(entropyAmax(statsOf([1000, 2, 0, 1], 4, 0, 4), 2)).toBe(4); // the spike size does not matter
    // without the zero rule the same search picks kept=2 on [4,2,0,1] (0.0196 < 0.0439 < 0.0485)
  });

  it('entropy: a clipped bin that Q misses costs a large finite divergence (eps smoothing); ties keep the first', () => {
    // hist [4, 0, 0, 2], kept=2: P = [4, 2] (outliers on bin 1), Q = [4, 0] -> smoothed [4 - 1e-4, 1e-4]
    const p = [4 / 6, 2 / 6];
    const q = [(4 - 1e-4) / 4, 1e-4 / 4];
    expect(entropyDivergence([4, 0, 0, 2], 2, 2)).toBeCloseTo(p[0]! * Math.log(p[0]! / q[0]!) + p[1]! * Math.log(p[1]! / q[1]!), 9);
    expect(entropyDivergence([4, 0, 0, 2], 2, 2)).toBeGreaterThan(2.5);
    // hist [4, 2, 0, 2]: kept=2 and kept=3 both give 0.5 ln 1.125; kept=4 gives less.
    expect(entropyDivergence([4, 2, 0, 2], 2, 2)).toBeCloseTo(0.5 * Math.log(1.125), 9);
    expect(entropyDivergence([4, 2, 0, 2], 3, 2)).toBeCloseTo(0.5 * Math.log(1.125), 9);
    expect(entropyAmax(statsOf([4, 2, 0, 2], 4, 0, 3.5), 2)).toBe(3.5); // kept=4 -> edge 4, capped at 3.5
  });

  it('entropy histogram: bins far above the second largest of bins k±1, k±2 are point masses, set to that level', () => {
    // bin 3: level 60 (of 50, 60, 70, 40); sqrt(500) - sqrt(60) > 2 -> 60. bin 4 (70 vs level 60) is noise. bin 0 := bin 1
    expect(Array.from(entropyHistogram([900, 50, 60, 500, 70, 40, 50]))).toEqual([50, 50, 60, 60, 70, 40, 50]);
    // two adjacent spikes: bins 3 and 4 both see level 50 (the other spike is only the largest neighbour)
    expect(Array.from(entropyHistogram([0, 40, 50, 600, 800, 30, 20]))).toEqual([40, 40, 50, 50, 50, 30, 20]);
    // noise-sized bumps stay; the threshold is Poisson-like: level 100 -> spike above (10 + 2)^2 = 144
    expect(Array.from(entropyHistogram([100, 100, 110, 100, 95, 105, 100]))).toEqual([100, 100, 110, 100, 95, 105, 100]);
    expect(entropyHistogram([0, 100, 100, 144, 100, 100])[3]).toBe(144);
    expect(entropyHistogram([0, 100, 100, 145, 100, 100])[3]).toBe(100);
    // a sparse tail: a bin with at most one non-empty neighbour keeps its count, and small counts are not flagged
    expect(Array.from(entropyHistogram([10, 8, 0, 0, 3, 0, 0, 1]))).toEqual([8, 8, 0, 0, 3, 0, 0, 1]);
    expect(Array.from(entropyHistogram([10, 2, 2, 11, 2, 2]))).toEqual([2, 2, 2, 11, 2, 2]);
    expect(Array.from(entropyHistogram([10, 2, 2, 12, 2, 2]))).toEqual([2, 2, 2, 2, 2, 2]);
  });

  const halfNormal = (n: number, seed: number): Float32Array => {
    const rnd = createRandom(seed);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = Math.abs(Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()));
    return v;
  };
  /** The KL search on `bins` with only pytorch-quantization's bin 0 := bin 1 (no point-mass flattening). */
  const rawEntropyKept = (bins: Float64Array): number => {
    const raw = Float64Array.from(bins);
    raw[0] = raw[1]!;
    let last = raw.length - 1;
    while (raw[last] === 0) last--;
    let best = 128;
    let bestKl = Infinity;
    for (let kept = 128; kept <= last + 1; kept++) {
      const kl = entropyDivergence(raw, kept);
      if (kl < bestKl) [best, bestKl] = [kept, kl];
    }
    return best;
  };

  it('entropy: point masses on a smooth density do not pull the threshold down; a smooth histogram is untouched', () => {
    // |x| of a Gaussian (a post-Relu-like density) with 32% of the values replaced by 16 point masses in [0.05, 1]
    // (a constant background's response, one per channel): the raw KL search clips far below the spike-free
    // threshold; on entropyHistogram it lands on it.
    const smooth = halfNormal(400_000, 7);
    const spiky = Float32Array.from(smooth);
    for (let i = 0; i < 0.32 * spiky.length; i++) spiky[i] = 0.05 + 0.0625 * (i % 16);
    const a = new TensorStats('smooth');
    a.add(smooth);
    const b = new TensorStats('spiky');
    b.range = a.range; // the same bins for both
    b.add(spiky);
    const width = a.range / a.bins.length;
    const clean = entropyAmax(a);
    expect(clean).toBeGreaterThan(2.5);
    expect(Math.abs(entropyAmax(b) - clean)).toBeLessThanOrEqual(4 * width);
    expect(rawEntropyKept(b.bins) * width).toBeLessThan(0.7 * clean);
    // no bin >= 1 of the smooth sample is flagged (at 400k or 20k values), so its threshold is the raw search's
    for (const s of [a, (() => { const t = new TensorStats('small'); t.add(halfNormal(20_000, 3)); return t; })()]) {
      expect(Array.from(entropyHistogram(s.bins).subarray(1))).toEqual(Array.from(s.bins.subarray(1)));
      expect(entropyAmax(s)).toBe(Math.min((rawEntropyKept(s.bins) * s.range) / s.bins.length, s.absMax));
    }
  });

  it('entropy on 2048 bins clips a long tail: amax well below the max of a Gaussian sample', () => {
    const s = new TensorStats('g');
    let seed = 1;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const v = new Float32Array(200_000);
    for (let i = 0; i < v.length; i++) v[i] = Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    s.add(v);
    const amax = entropyAmax(s);
    expect(amax).toBeLessThan(s.absMax);
    expect(amax).toBeGreaterThan(2.5); // a unit Gaussian keeps at least ~2.5 sigma
    expect(() => computeAmax(s, 'legacy-entropy')).toThrow(/TensorRT/);
  });
});
