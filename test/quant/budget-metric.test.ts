import { describe, expect, it } from 'vitest';
import { quantizeModel } from '../../lib/quantize/index.js';
import { validateBuildOptions } from '../../lib/engine/options.js';
import type { BudgetCandidate } from '../../lib/quantize/budget.js';
import type { TensorData } from '../../lib/engine/types.js';
import '../../lib/backends/onnxruntime/index.js';
import { randomFeeds, residualModel } from './helpers.js';

// calibration and evaluation batches of the residual model's input x [N,4,8,8]
const batches = (seed: number) => randomFeeds(2, [16, 4, 8, 8], seed).map((data) => ({ feeds: { x: { data, dims: [16, 4, 8, 8], dtype: 'float32' as const } } }));
const calib = batches(1);
const evalFeeds = batches(2).map((b) => b.feeds as Record<string, TensorData>);

/** The metric a user would write: cosine of the candidate's outputs to FP32's on held-out inputs (the FP32 run comes first). */
function cosineMetric() {
  let reference: Float32Array[] | undefined;
  const calls: boolean[] = [];
  const metric = async (c: BudgetCandidate): Promise<number> => {
    calls.push(c.int8);
    const outs: Float32Array[] = [];
    for (const feeds of evalFeeds) outs.push((await c.infer(feeds)).probs!.data as Float32Array);
    if (!c.int8) reference = outs;
    let ab = 0, aa = 0, bb = 0;
    outs.forEach((o, k) =>
      o.forEach((v, i) => {
        const r = reference![k]![i]!;
        ab += v * r;
        aa += v * v;
        bb += r * r;
      }),
    );
    return ab / Math.sqrt(aa * bb);
  };
  return { metric, calls };
}

describe('calib.accuracyBudget with a metric function (higher is better) instead of labelled data', () => {
  it('scores FP32 first, then int8 candidates, and keeps the most sensitive layers float until the drop is within maxDrop', { timeout: 120_000 }, async () => {
    // a loose budget the all-int8 model meets keeps nothing float and ranks nothing
    const loose = await quantizeModel(residualModel(), { precision: 'int8', data: calib, accuracyBudget: { metric: cosineMetric().metric, maxDrop: 1 } });
    const l = loose.report.budget!;
    expect([l.kept, l.ranking, l.chosen]).toEqual([[], [], l.int8]);
    expect(l.fp32).toBeCloseTo(1, 6);
    expect(l.int8).toBeLessThan(l.fp32);
    // a budget the most sensitive layer alone meets once float, and all-int8 does not: that layer goes back to float
    const ranked = (await quantizeModel(residualModel(), { precision: 'int8', data: calib, accuracyBudget: { metric: cosineMetric().metric, maxDrop: 0 } })).report.budget!.ranking;
    const best = ranked[0]!.top1Alone;
    expect(best).toBeGreaterThan(l.int8);
    const maxDrop = l.fp32 - (best + l.int8) / 2;
    const { metric, calls } = cosineMetric();
    const q = await quantizeModel(residualModel(), { precision: 'int8', data: calib, accuracyBudget: { metric, maxDrop } });
    const b = q.report.budget!;
    expect(calls[0]).toBe(false);
    expect(calls.slice(1).every((int8) => int8)).toBe(true);
    expect([b.measure, b.images, b.fp32, b.int8]).toEqual(['metric', 0, l.fp32, l.int8]);
    expect(b.met).toBe(true);
    expect(b.chosen).toBeGreaterThanOrEqual(b.fp32 - maxDrop);
    expect(b.kept.length).toBeGreaterThan(0);
    expect(b.kept.length).toBeLessThan(b.ranking.length);
    expect(b.kept.map((k) => k.node)).toEqual(b.ranking.slice(0, b.kept.length).map((r) => r.node));
    expect(q.report.path).toMatch(new RegExp(`accuracy budget metric drop ${+maxDrop.toPrecision(3)}: ${b.kept.length} layers? kept float`));
  });

  it('a metric that throws or returns a non-finite number fails the build with ERR_CALIB_DATA', async () => {
    const build = (metric: (c: BudgetCandidate) => Promise<number> | number) => quantizeModel(residualModel(), { precision: 'int8', data: calib, accuracyBudget: { metric, maxDrop: 0.01 } });
    await expect(build(async () => { throw new Error('no ground truth here'); })).rejects.toMatchObject({ code: 'ERR_CALIB_DATA', message: expect.stringMatching(/accuracy budget metric threw on the FP32 model: no ground truth here/) });
    await expect(build(() => Number.NaN)).rejects.toMatchObject({ code: 'ERR_CALIB_DATA', message: expect.stringMatching(/metric returned NaN on the FP32 model; it must return a finite number/) });
    // only int8 candidates fail: the error says which
    await expect(build((c) => (c.int8 ? Number.POSITIVE_INFINITY : 1))).rejects.toMatchObject({ code: 'ERR_CALIB_DATA', message: expect.stringMatching(/returned Infinity on an int8 candidate/) });
    await expect(build((() => 'high') as unknown as () => number)).rejects.toMatchObject({ code: 'ERR_CALIB_DATA', message: expect.stringMatching(/returned "high"/) });
  });

  it('validates the metric form', () => {
    const data = calib;
    expect(() => validateBuildOptions({ precision: 'int8', calib: { data, accuracyBudget: { metric: 'cosine', maxDrop: 0.01 } } })).toThrow(/calib\.accuracyBudget\.metric/);
    expect(() => validateBuildOptions({ precision: 'int8', calib: { data, accuracyBudget: { metric: () => 1, maxDrop: -1 } } })).toThrow(/calib\.accuracyBudget\.maxDrop/);
    expect(() => validateBuildOptions({ precision: 'int8', calib: { data, accuracyBudget: { metric: () => 1, maxDrop: Number.NaN } } })).toThrow(/calib\.accuracyBudget\.maxDrop/);
    // a metric's drop is in its own units: 5 is allowed (top-1's fraction must stay below 1)
    expect(validateBuildOptions({ precision: 'int8', calib: { data, accuracyBudget: { metric: () => 1, maxDrop: 5 } } }).calib!.accuracyBudget!.maxDrop).toBe(5);
  });
});
