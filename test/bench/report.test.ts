import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relateToBase } from '../../lib/bench/runner.js';
import { cell, makeResults, withAccuracy } from './study-fixture.js';
import { readResults, type StudyCell } from '../../lib/bench/results.js';
import { summarize } from '../../lib/bench/stats.js';
import { cellStats, minSamplesFor } from '../../lib/bench/measure.js';
import { markContradictions, README_CLAIMS } from '../../lib/bench/claims.js';
import { toHtml } from '../../lib/bench/report/html.js';
import { toCsv, CSV_HEADER } from '../../lib/bench/report/csv.js';
import { toMarkdown } from '../../lib/bench/report/markdown.js';
import { improvementFactorInformative, renderCharts } from '../../lib/bench/report/charts.js';
import { writeReports } from '../../lib/bench/report/write.js';
import { reportAction } from '../../lib/cli/report.js';
import { createProgressReporter } from '../../lib/bench/progress.js';

/** Well-formed XML check: every start tag is closed in order (enough to catch a truncated or broken SVG). */
function assertBalancedXml(text: string): void {
  const stack: string[] = [];
  const body = text.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
}

describe('Eq. 19 / Eq. 20 from the cells', () => {
  it('speedup from the latency runs, improvement factor from the throughput runs', () => {
    const r = makeResults();
    const get = (column: string, bs: number) => r.cells.find((c) => c.column === column && c.batchSize === bs)!;
    expect(get('base', 1).speedup).toBe(1);
    expect(get('int8', 1).speedup).toBeCloseTo(10 / 4, 12); // latency medians 10 and 4
    expect(get('int8', 4).speedup).toBeCloseTo(40 / 10, 12);
    // Eq. 20 is its own measurement, not Eq. 19 again: 200 / 100 while the latencies say 2.5.
    expect(get('int8', 1).improvementFactor).toBeCloseTo(2, 12);
    expect(get('int8', 4).improvementFactor).toBeCloseTo(4, 12);
    expect(get('int8 (tensorrt)', 1).speedup).toBeUndefined();
    // Without a base there is nothing to compare with: null, not a made-up 1.
    const noBase = r.cells.filter((c) => c.precision !== 'base').map((c) => ({ ...c, speedup: undefined }));
    relateToBase(noBase);
    expect(noBase.find((c) => c.status === 'ok')!.speedup).toBeNull();
    // A cell whose throughput run failed has no Eq. 20.
    const noThroughput = makeResults().cells.map((c) => (c.column === 'int8' ? { ...c, throughput: undefined } : c));
    relateToBase(noThroughput);
    expect(noThroughput.find((c) => c.column === 'int8')!.improvementFactor).toBeNull();
  });
});

describe('README claims', () => {
  it('marks an int8 cell slower than fp32 beyond the noise, and only that one', () => {
    const r = makeResults();
    const fp32 = (bs: number, segments: number[][]) => cell('fp32', 'fp32', bs, segments, 150);
    r.cells.push(fp32(1, [[3, 3, 3], [3, 3, 3]]), fp32(4, [[10, 10, 10], [10, 10, 10]]));
    markContradictions(r.cells);
    const int8 = (bs: number) => r.cells.find((c) => c.column === 'int8' && c.batchSize === bs)!;
    // batch 1: int8 4 ms against fp32 3 ms, noise 0 and 0: contradicts. batch 4: 10 against 10: no.
    expect(int8(1).contradicts).toEqual([README_CLAIMS[0]!.text]);
    expect(int8(4).contradicts).toBeUndefined();
    const md = toMarkdown(r);
    expect(md).toContain(`CONTRADICTS ${README_CLAIMS[0]!.text}`);
    expect(toHtml(r, [])).toMatch(/<td class="contradicts">latency 4\.00 ms/);
  });
});

describe('report writers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trtn-report-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('CSV: one row per cell, quoted fields, numbers as written', () => {
    const csv = toCsv(makeResults());
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(CSV_HEADER.join(','));
    expect(lines).toHaveLength(1 + 6);
    const idx = (name: string) => CSV_HEADER.indexOf(name);
    const int8bs4 = lines[4]!.split(',');
    expect(int8bs4[idx('column')]).toBe('int8');
    expect(int8bs4[idx('batch_size')]).toBe('4');
    expect(Number(int8bs4[idx('latency_median_ms')])).toBe(10);
    expect(Number(int8bs4[idx('latency_n')])).toBe(6);
    expect(int8bs4[idx('latency_p90_ms')]).toBe(''); // 6 samples: no p90
    expect(int8bs4[idx('unstable')]).toBe('true');
    expect(Number(int8bs4[idx('speedup')])).toBe(4);
    expect(Number(int8bs4[idx('load_before')])).toBe(1.5);
    expect(lines[5]).toContain('unavailable');
    expect(lines[5]).toContain('"backend \'tensorrt\' is not registered, ""quoted"""');
  });

  it('Markdown: one table per model, rows batch sizes, columns precisions, text left-aligned, marks and reasons', () => {
    const md = toMarkdown(makeResults());
    expect(md).toContain('## Input 3x48x48: synthetic data, random weights: speed only');
    expect(md).toContain('### vgg16\n\n| batch | base | int8 | int8 (tensorrt) |\n| :--- | :--- | :--- | :--- |');
    const row = (bs: number) => md.split('\n').find((l) => l.startsWith(`| ${bs} |`))!.split(' | ');
    // batch 1, int8: median 4 of [4,4,5,4,3,4]; segment medians 4 and 4: noise 0; 6 samples: no p90 / p99.
    expect(row(1)[2]).toMatch(/^latency 4\.00 ms ±0%<br>CV [0-9.]+%, n 6<br>throughput 200\/s ±1\.0%<br>speedup 2\.50x, IF 2\.00x<br>engine overhead \+0\.020 ms \(\+0\.5%\)<br>load 1\.50 -> 1\.75$/);
    expect(row(4)[2]).toContain('UNSTABLE: CV');
    expect(row(1)[3]).toBe('n/a |');
    expect(md).not.toContain('Top-1 accuracy'); // synthetic: speed only
    expect(md).toContain('Improvement factor (Eq. 20) = throughput_q / throughput_base, from the throughput runs');
    expect(md).toContain("vgg16 int8 (tensorrt) (batch 1, 4): unavailable, ERR_BACKEND_UNAVAILABLE: backend 'tensorrt' is not registered");
  });

  it('Markdown: accuracy per model and precision; a failed accuracy is listed with its reason', () => {
    const md = toMarkdown(withAccuracy());
    expect(md).toContain('## Input fmnist-28 (1x28x28)\n');
    expect(md).toContain('| fmnist_cnn | 92.50 | failed | n/a |');
    expect(md).toContain("fmnist-28 fmnist_cnn int8 (batch 1, 4): accuracy failed, ERR_DATA: accuracy data 'x' has no labels");
  });

  it('percentiles only where the sample has one value above them: p90 from 10, p99 from 100', () => {
    expect([minSamplesFor(50), minSamplesFor(90), minSamplesFor(99)]).toEqual([2, 10, 100]);
    const seg = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const nine = cellStats([{ stats: summarize(seg(9)), samples: seg(9), n: 9 }]);
    expect(nine.p90).toBeUndefined();
    const ten = cellStats([{ stats: summarize(seg(10)), samples: seg(10), n: 10 }]);
    expect(ten.p90).toBeCloseTo(9.1, 12); // numpy: rank 0.9 * 9 = 8.1 between 9 and 10
    expect(ten.p99).toBeUndefined();
    const hundred = cellStats([{ stats: summarize(seg(100)), samples: seg(100), n: 100 }]);
    expect(hundred.p99).toBeCloseTo(99.01, 12);
    // CV by hand: 1..10 has mean 5.5 and sample standard deviation sqrt(110/12) = 3.0277.
    expect(ten.cv).toBeCloseTo(Math.sqrt(110 / 12) / 5.5, 12);
    // The median's noise: segment medians 2 and 5 around the median of all, 3.5.
    const split = cellStats([{ stats: summarize([1, 2, 3]), samples: [1, 2, 3], n: 3 }, { stats: summarize([4, 5, 6]), samples: [4, 5, 6], n: 3 }]);
    expect(split.noise).toBeCloseTo((5 - 2) / 3.5, 12);
    // Without samples (a backend that keeps none): median of the segment medians, no percentiles.
    const noSamples = cellStats([{ stats: summarize([1, 2, 3]), n: 3 }, { stats: summarize([4, 5, 6]), n: 3 }, { stats: summarize([2, 3, 4]), n: 3 }]);
    expect(noSamples).toMatchObject({ n: 9, median: 3, min: 1, max: 6 });
    expect(noSamples.p90).toBeUndefined();
  });

  it('SVG charts: latency against throughput beside speedup bars; Eq. 20 bars only where they differ from Eq. 19', async () => {
    const charts = await renderCharts(makeResults());
    expect(charts.map((c) => c.file)).toEqual(['charts/latency-throughput-3x48x48-vgg16.svg', 'charts/speedup-3x48x48-vgg16.svg', 'charts/improvement-factor-3x48x48-vgg16.svg']);
    for (const c of charts) {
      expect(c.svg.startsWith('<svg')).toBe(true);
      assertBalancedXml(c.svg);
      for (const text of ['base', 'int8', c.title]) expect(c.svg).toContain(text);
    }
    const [tradeoff, speedupChart] = charts;
    // One line per precision through its batch sizes, each point labelled with its batch size.
    expect(tradeoff!.svg.match(/aria-roledescription="line mark"/g) ?? []).toHaveLength(2);
    expect(tradeoff!.svg).toContain('throughput (images/s)');
    expect(speedupChart!.svg.match(/<path[^>]*aria-roledescription="bar"/g) ?? []).toHaveLength(4);
    // When each improvement factor equals its speedup within noise the Eq. 20 chart says nothing new.
    const same = makeResults();
    for (const c of same.cells) if (c.status === 'ok') c.throughput = (c.batchSize * 1000) / c.latencyMs!.median;
    relateToBase(same.cells);
    expect(improvementFactorInformative(same.cells)).toBe(false);
    expect((await renderCharts(same)).map((c) => c.metric)).toEqual(['latencyThroughput', 'speedup']);
  });

  it('writes every file; results.json round-trips through `report`', async () => {
    const results = makeResults();
    const written = await writeReports(results, dir);
    expect(written.files.sort()).toEqual([
      'charts/improvement-factor-3x48x48-vgg16.svg', 'charts/latency-throughput-3x48x48-vgg16.svg', 'charts/speedup-3x48x48-vgg16.svg', 'report.html', 'report.md', 'results.csv', 'results.json',
    ]);
    expect(written.charts).toBe(3);
    const back = await readResults(join(dir, 'results.json'));
    expect(back).toEqual(JSON.parse(JSON.stringify(results)));
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    assertBalancedXml(html.replace('<!doctype html>', '').replace(/<meta[^>]*>/g, ''));
    expect(html.match(/<svg/g)).toHaveLength(3);
    expect(html).toContain('&quot;quoted&quot;');
    expect(html).toContain('<td class="unstable">');
    expect(html).toContain('text-align:left');

    const again = join(dir, 'again');
    await reportAction(join(dir, 'results.json'), { out: again });
    expect(await readFile(join(again, 'report.md'), 'utf8')).toBe(await readFile(join(dir, 'report.md'), 'utf8'));
    expect(await readFile(join(again, 'results.csv'), 'utf8')).toBe(await readFile(join(dir, 'results.csv'), 'utf8'));
    expect((await readdir(join(again, 'charts'))).length).toBe(3);
  });

  it('writes no charts/ folder when nothing could be charted', async () => {
    const r = makeResults();
    r.cells = r.cells.filter((c) => c.status !== 'ok');
    const out = join(dir, 'nothing');
    const written = await writeReports(r, out);
    expect(written.charts).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['report.html', 'report.md', 'results.csv', 'results.json']);
  });

  it('`report` rejects a wrong or corrupt file with a typed error naming it', async () => {
    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ ...makeResults(), schema: 'tensorrt-node/study@0' }));
    await expect(reportAction(wrong, {})).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', details: { file: wrong }, message: expect.stringContaining('study@0') });
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"schema": "tensorrt-node/study@2", "cells": [');
    await expect(readResults(broken)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('invalid JSON') });
    const badCell = join(dir, 'badcell.json');
    const r = makeResults();
    delete (r.cells[2] as Partial<StudyCell>).latencyMs;
    await writeFile(badCell, JSON.stringify(r));
    await expect(readResults(badCell)).rejects.toThrow(/cells\[2\] is malformed/);
    const missing = join(dir, 'missing.json');
    await expect(reportAction(missing, {})).rejects.toMatchObject({ code: 'ERR_IO', details: { file: missing } });
  });
});

describe('progress', () => {
  it('draws a bar on a TTY and plain lines otherwise', () => {
    const tty: string[] = [];
    const bar = createProgressReporter({ isTTY: true, columns: 120, write: (t: string) => tty.push(t) });
    bar.onProgress({ done: 3, total: 12, current: '3x48x48 vgg16 int8 batch 8', elapsedMs: 30_000, etaMs: 90_000 });
    bar.finish();
    expect(tty[0]).toMatch(/^\r\[#{6}-{18}\] 3\/12 cells, 30s ETA 1m30s: 3x48x48 vgg16 int8 batch 8/);
    expect(tty[1]).toBe('\n');
    const plain: string[] = [];
    const lines = createProgressReporter({ write: (t: string) => plain.push(t) });
    lines.onProgress({ done: 0, total: 2, current: 'a', elapsedMs: 0 });
    lines.onProgress({ done: 0, total: 2, current: 'a', elapsedMs: 10 });
    lines.onProgress({ done: 1, total: 2, current: 'b', elapsedMs: 1000, etaMs: 1000 });
    expect(plain).toEqual(['0/2 cells, 0s: a\n', '1/2 cells, 1s ETA 1s: b\n']);
  });
});

describe('CLI commands', () => {
  it('registerBench / registerReport add commands that run through commander', async () => {
    const { Command } = await import('commander');
    const { registerBench } = await import('../../lib/cli/bench.js');
    const { registerReport } = await import('../../lib/cli/report.js');
    const program = new Command().exitOverride();
    registerBench(program);
    registerReport(program);
    expect(program.commands.map((c) => c.name())).toEqual(['bench', 'report']);
    const bench = program.commands[0]!;
    for (const flag of ['--config', '--preset', '--model', '--input', '--batch-sizes', '--precisions', '--backend', '--calib-data', '--accuracy-data', '--warmup', '--duration', '--iterations', '--max-cv', '--streams', '--out', '--json']) {
      expect(bench.options.some((o) => o.long === flag), flag).toBe(true);
    }
    const dir = await mkdtemp(join(tmpdir(), 'trtn-cli-'));
    try {
      const file = join(dir, 'results.json');
      await writeFile(file, JSON.stringify(makeResults()));
      await program.parseAsync(['node', 'trt-node', 'report', file, '--out', join(dir, 'out')]);
      expect((await readdir(join(dir, 'out'))).sort()).toEqual(['charts', 'report.html', 'report.md', 'results.csv', 'results.json']);
      await expect(program.parseAsync(['node', 'trt-node', 'bench', '--model', 'vgg16', '--precisions', 'int4'])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('TensorRT cells', () => {
  it('show GPU compute and the copies beside the latency (trtexec\'s split) when the backend times them', () => {
    const r = makeResults();
    const c = r.cells.find((x) => x.column === 'int8' && x.batchSize === 1)!;
    Object.assign(c, { timer: 'cuda-event', gpuMs: summarize([2.5, 2.5]), h2dMs: summarize([0.75]), d2hMs: summarize([0.125]) });
    expect(toMarkdown(r)).toContain('GPU compute 2.50, H2D 0.750, D2H 0.125 ms');
    expect(toCsv(r)).toContain(',2.5,0.75,0.125,');
  });
});
