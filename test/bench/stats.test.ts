import { describe, expect, it } from 'vitest';
import { argmaxRows, improvementFactor, percentile, speedup, summarize, throughputFromLatency } from '../../lib/bench/stats.js';
import { isTrtnError } from '../../lib/errors.js';

describe('summary statistics', () => {
  it('matches hand-computed percentiles (linear interpolation between closest ranks)', () => {
    // 1..10 shuffled: rank(p90) = 0.9 * 9 = 8.1 -> 9 + 0.1 * (10 - 9) = 9.1; rank(p99) = 8.91 -> 9.91.
    const s = summarize([7, 3, 10, 1, 5, 9, 2, 8, 4, 6]);
    expect(s.mean).toBeCloseTo(5.5, 12);
    expect(s.median).toBeCloseTo(5.5, 12);
    expect(s.p90).toBeCloseTo(9.1, 12);
    expect(s.p99).toBeCloseTo(9.91, 12);
    expect(s.min).toBe(1);
    expect(s.max).toBe(10);
  });

  it('handles odd counts, two samples and a single sample', () => {
    expect(summarize([3, 1, 2]).median).toBe(2);
    const two = summarize([1, 3]);
    expect(two.median).toBe(2);
    expect(two.p90).toBeCloseTo(2.8, 12); // 1 + 0.9 * (3 - 1)
    expect(summarize([4])).toEqual({ mean: 4, median: 4, p90: 4, p99: 4, min: 4, max: 4 });
    expect(percentile([0, 10, 20, 30, 40], 25)).toBe(10);
    expect(percentile([0, 10], 0)).toBe(0);
    expect(percentile([0, 10], 100)).toBe(10);
  });

  it('rejects empty or non-finite samples with ERR_INVALID_ARG', () => {
    for (const bad of [[], [1, Number.NaN], [Infinity]]) {
      try {
        summarize(bad);
        expect.unreachable();
      } catch (err) {
        expect(isTrtnError(err, 'ERR_INVALID_ARG')).toBe(true);
      }
    }
    expect(() => percentile([1], 101)).toThrow(/percentile must be in/);
  });

  it('computes Eq. 19, Eq. 20 and throughput', () => {
    expect(speedup(10, 4)).toBe(2.5);
    expect(improvementFactor(100, 300)).toBe(3);
    expect(throughputFromLatency(32, 16)).toBe(2000); // 32 images in 16 ms
  });

  it('takes the arg max per row, first index on ties', () => {
    const scores = Float32Array.from([0.1, 0.7, 0.2, 5, 5, 1, -3, -2, -1]);
    expect(Array.from(argmaxRows(scores, 3, 3))).toEqual([1, 0, 2]);
    expect(() => argmaxRows(scores, 4, 3)).toThrow(/fewer than 4 rows/);
  });
});
