import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareResults, comparisonSummary, parseThreshold } from '../../lib/bench/compare.js';
import { reportAction, EXIT_REGRESSION } from '../../lib/cli/report.js';
import { makeResults, outputCapture } from './study-fixture.js';
import type { StudyResults } from '../../lib/bench/results.js';

/** b: run a with the int8 batch-4 latency scaled by `factor` and its segment noise set to `noise`. */
function slower(factor: number, noise = 0): StudyResults {
  const b = makeResults();
  const c = b.cells.find((x) => x.column === 'int8' && x.batchSize === 4)!;
  c.latencyMs = { ...c.latencyMs!, median: c.latencyMs!.median * factor, noise };
  return b;
}

describe('compareResults', () => {
  it('ratio b/a of every matching cell; a change within the cells\' own noise is not a change', () => {
    const a = makeResults();
    const same = compareResults(a, makeResults());
    // 4 measured cells x (latency, throughput); the 2 unavailable cells are not compared.
    expect(same.rows).toHaveLength(8);
    expect(same.rows.every((r) => r.ratio === 1 && r.change === 'within noise')).toBe(true);
    expect(same).toMatchObject({ withinNoise: 8, beyondNoise: 0, regressions: 0, unmatched: [] });

    // int8 batch 4 has segment medians 10 and 10 in a: noise 0. 5% slower with noise 0.08 in b: within.
    const within = compareResults(a, slower(1.05, 0.08)).rows.find((r) => r.column === 'int8' && r.batchSize === 4 && r.metric === 'latency')!;
    expect(within).toMatchObject({ a: 10, b: 10.5, noise: 0.08, change: 'within noise', regression: false });
    expect(within.ratio).toBeCloseTo(1.05, 12);
    // 5% slower beyond a 2% noise: flagged, but below the 10% threshold: no regression.
    const flagged = compareResults(a, slower(1.05, 0.02));
    expect(flagged.rows.find((r) => r.change !== 'within noise')).toMatchObject({ column: 'int8', batchSize: 4, change: 'slower', regression: false });
    expect(flagged.regressions).toBe(0);
    // 25% slower: a regression at the default 10% threshold, not at 30%.
    expect(compareResults(a, slower(1.25)).regressions).toBe(1);
    expect(compareResults(a, slower(1.25), { threshold: 0.3 }).regressions).toBe(0);
    // Faster is never a regression.
    expect(compareResults(a, slower(0.5)).rows.find((r) => r.change !== 'within noise')).toMatchObject({ change: 'faster', regression: false });
  });

  it('throughput down is slower; cells in one run only are listed', () => {
    const a = makeResults();
    const b = makeResults();
    b.cells.find((x) => x.column === 'base' && x.batchSize === 1)!.throughput = 50; // from 100, noise 0.02
    b.cells = b.cells.filter((x) => !(x.column === 'int8' && x.batchSize === 1));
    const c = compareResults(a, b, { names: ['old', 'new'] });
    expect(c.rows.find((r) => r.metric === 'throughput' && r.column === 'base' && r.batchSize === 1)).toMatchObject({ ratio: 0.5, change: 'slower', regression: true });
    expect(c.unmatched).toEqual(['3x48x48 vgg16 int8 @1']);
    expect(comparisonSummary(c)).toBe('new vs old: latency: 3/3 within noise, throughput: 2/3 within noise; 1 regression(s) beyond 10%; 1 cell(s) in one run only');
  });

  it('thresholds: 0.1 or 10%; anything else is ERR_INVALID_ARG', () => {
    expect(parseThreshold('0.1')).toBe(0.1);
    expect(parseThreshold('10%')).toBeCloseTo(0.1, 12);
    expect(() => parseThreshold('ten')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('--threshold') }));
    expect(() => parseThreshold('-1')).toThrow(/--threshold/);
  });
});

describe('trt-node report --compare', () => {
  let dir: string;
  const io = outputCapture();
  const capture = () => io.start();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trtn-compare-'));
    await writeFile(join(dir, 'a.json'), JSON.stringify(makeResults()));
    await writeFile(join(dir, 'b.json'), JSON.stringify(slower(1.25)));
  });
  afterEach(() => io.restore());
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`prints every cell's ratio, writes compare.* and exits ${EXIT_REGRESSION} on a regression beyond the threshold`, async () => {
    capture();
    await reportAction([join(dir, 'a.json'), join(dir, 'b.json')], { compare: true, out: join(dir, 'cmp') });
    expect(process.exitCode).toBe(EXIT_REGRESSION);
    const text = [...io.stdout, ...io.stderr].join('');
    expect(text).toMatch(/\| 3x48x48 \| vgg16 \| int8 \| 4 \| latency \| 10\.0 ms \| 12\.5 ms \| 1\.250x \| ±0% \| slower \(REGRESSION\) \|/);
    expect(text).toContain('latency: 3/4 within noise');
    expect(JSON.parse(await readFile(join(dir, 'cmp', 'compare.json'), 'utf8')).regressions).toBe(1);
    expect(await readFile(join(dir, 'cmp', 'compare.html'), 'utf8')).toContain('slower (REGRESSION)');
  });

  it('exits 0 when the slowdown is below --threshold; needs exactly two files', async () => {
    capture();
    await reportAction([join(dir, 'a.json'), join(dir, 'b.json')], { compare: true, threshold: '30%' });
    expect(process.exitCode).toBeUndefined();
    await expect(reportAction([join(dir, 'a.json')], { compare: true })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(reportAction([join(dir, 'a.json'), join(dir, 'nope.json')], { compare: true })).rejects.toMatchObject({ code: 'ERR_IO', details: { file: join(dir, 'nope.json') } });
  });
});
