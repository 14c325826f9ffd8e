import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relateToBase } from '../../lib/bench/runner.js';
import { STUDY_SCHEMA, readResults, type StudyCell, type StudyResults } from '../../lib/bench/results.js';
import { summarize } from '../../lib/bench/stats.js';
import { resolveStudyConfig } from '../../lib/bench/config.js';
import { toCsv, CSV_HEADER } from '../../lib/bench/report/csv.js';
import { toMarkdown } from '../../lib/bench/report/markdown.js';
import { renderCharts } from '../../lib/bench/report/charts.js';
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

// Hand-made measurements: base 10 ms / 40 ms, int8 4 ms / 10 ms at batch 1 / 4.
function cell(column: string, precision: StudyCell['precision'], batchSize: number, samples: number[], extra: Partial<StudyCell> = {}): StudyCell {
  const latencyMs = summarize(samples);
  return {
    input: 'cifar10-48', inputShape: [3, 48, 48], model: 'vgg16', modelSource: 'vgg16', precision, backend: 'onnxruntime', column, batchSize,
    status: 'ok', latencyMs, wallMs: latencyMs, throughput: (batchSize * 1000) / latencyMs.median, timer: 'host', warmup: 1, iterations: samples.length,
    buildMs: 1500, modelBytes: 2 ** 21, engineBytes: 2 ** 19, peakRssBytes: 2 ** 28, path: 'test',
    accuracy: { dataset: 'fashion-mnist:test', top1: precision === 'int8' ? 0.9 : 0.925, correct: precision === 'int8' ? 9 : 37, total: precision === 'int8' ? 10 : 40 },
    ...extra,
  };
}

function makeResults(): StudyResults {
  const cells: StudyCell[] = [
    cell('base', 'base', 1, [9, 10, 11]),
    cell('base', 'base', 4, [40, 38, 42]),
    cell('int8', 'int8', 1, [4, 4, 5]),
    cell('int8', 'int8', 4, [10, 12, 9]),
    ...[1, 4].map((batchSize): StudyCell => ({
      input: 'cifar10-48', inputShape: [3, 48, 48], model: 'vgg16', modelSource: 'vgg16', precision: 'int8', backend: 'tensorrt', column: 'int8 (tensorrt)', batchSize,
      status: 'unavailable', error: { code: 'ERR_BACKEND_UNAVAILABLE', message: "backend 'tensorrt' is not registered, \"quoted\"" },
    })),
  ];
  relateToBase(cells);
  return {
    schema: STUDY_SCHEMA,
    createdAt: '2025-01-01T00:00:00.000Z',
    durationMs: 1234,
    environment: { cpu: { model: 'Test CPU', cores: 2 }, memoryBytes: 2 ** 34, os: 'linux', node: 'v20', loadAverage: [1, 1, 1], versions: { 'tensorrt-node': '0.1.0' }, backends: {} },
    config: resolveStudyConfig({ models: ['vgg16'], batchSizes: [1, 4], precisions: ['base', 'int8'], iterations: 3, warmup: 1 }),
    cells,
  };
}

describe('Eq. 19 / Eq. 20 from the cells', () => {
  it('relates each measured cell to the base cell of the same model and batch size', () => {
    const r = makeResults();
    const get = (column: string, bs: number) => r.cells.find((c) => c.column === column && c.batchSize === bs)!;
    expect(get('base', 1).speedup).toBe(1);
    expect(get('int8', 1).speedup).toBeCloseTo(10 / 4, 12); // medians 10 and 4
    expect(get('int8', 4).speedup).toBeCloseTo(40 / 10, 12);
    expect(get('int8', 1).improvementFactor).toBeCloseTo(250 / 100, 12); // 1 image in 4 ms = 250 img/s over 1 in 10 ms = 100 img/s
    expect(get('int8', 4).improvementFactor).toBeCloseTo(400 / 100, 12); // 4 in 10 ms over 4 in 40 ms
    expect(get('int8 (tensorrt)', 1).speedup).toBeUndefined();
    // Without a base there is nothing to compare with: null, not a made-up 1.
    const noBase = r.cells.filter((c) => c.precision !== 'base').map((c) => ({ ...c, speedup: undefined }));
    relateToBase(noBase);
    expect(noBase.find((c) => c.status === 'ok')!.speedup).toBeNull();
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
    expect(Number(int8bs4[idx('speedup')])).toBe(4);
    expect(lines[5]).toContain('unavailable');
    expect(lines[5]).toContain('"backend \'tensorrt\' is not registered, ""quoted"""');
  });

  it('Markdown: tables with batch rows and model x precision columns, n/a cells, reasons', () => {
    const md = toMarkdown(makeResults());
    expect(md).toContain('## Input cifar10-48 (3x48x48)');
    expect(md).toContain('| batch | vgg16 base | vgg16 int8 | vgg16 int8 (tensorrt) |');
    expect(md).toMatch(/### Speedup[^\n]*\n\n\| batch[^\n]*\n[^\n]*\n\| 1 \| 1\.00 \| 2\.50 \| n\/a \|\n\| 4 \| 1\.00 \| 4\.00 \| n\/a \|/);
    expect(md).toMatch(/### Latency per batch, median \(ms\)\n\n[^\n]*\n[^\n]*\n\| 1 \| 10\.00 \| 4\.00 \| n\/a \|/);
    expect(md).toContain('| vgg16 | 92.50 | 90.00 | n/a |');
    expect(md).toContain("vgg16 int8 (tensorrt) (batch 1, 4): unavailable, ERR_BACKEND_UNAVAILABLE: backend 'tensorrt' is not registered");
  });

  it('SVG charts parse and carry every series and batch size', async () => {
    const charts = await renderCharts(makeResults());
    expect(charts.map((c) => c.file)).toEqual(['charts/speedup-cifar10-48-vgg16.svg', 'charts/improvement-factor-cifar10-48-vgg16.svg']);
    for (const c of charts) {
      expect(c.svg.startsWith('<svg')).toBe(true);
      assertBalancedXml(c.svg);
      for (const text of ['base', 'int8', '>1<', '>4<', 'batch size', c.title]) expect(c.svg).toContain(text);
      // One bar per measured cell: 2 precisions x 2 batch sizes.
      expect(c.svg.match(/role-mark[^"]*marks"|aria-roledescription="bar"/g)?.length ?? 0).toBeGreaterThan(0);
      expect(c.svg.match(/<path[^>]*aria-roledescription="bar"/g) ?? []).toHaveLength(4);
    }
  });

  it('writes every file; results.json round-trips through `report`', async () => {
    const results = makeResults();
    const written = await writeReports(results, dir);
    expect(written.files.sort()).toEqual(['charts/improvement-factor-cifar10-48-vgg16.svg', 'charts/speedup-cifar10-48-vgg16.svg', 'report.html', 'report.md', 'results.csv', 'results.json']);
    const back = await readResults(join(dir, 'results.json'));
    expect(back).toEqual(JSON.parse(JSON.stringify(results)));
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    assertBalancedXml(html.replace('<!doctype html>', '').replace(/<meta[^>]*>/g, ''));
    expect(html.match(/<svg/g)).toHaveLength(2);
    expect(html.match(/<table>/g)!.length).toBeGreaterThanOrEqual(7);
    expect(html).toContain('&quot;quoted&quot;');

    const again = join(dir, 'again');
    await reportAction(join(dir, 'results.json'), { out: again });
    expect(await readFile(join(again, 'report.md'), 'utf8')).toBe(await readFile(join(dir, 'report.md'), 'utf8'));
    expect(await readFile(join(again, 'results.csv'), 'utf8')).toBe(await readFile(join(dir, 'results.csv'), 'utf8'));
    expect((await readdir(join(again, 'charts'))).length).toBe(2);
  });

  it('`report` rejects a wrong or corrupt file with a typed error naming it', async () => {
    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ ...makeResults(), schema: 'tensorrt-node/study@0' }));
    await expect(reportAction(wrong, {})).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', details: { file: wrong }, message: expect.stringContaining('study@0') });
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"schema": "tensorrt-node/study@1", "cells": [');
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
    bar.onProgress({ done: 3, total: 12, current: 'cifar10-48 vgg16 int8 batch 8', elapsedMs: 30_000, etaMs: 90_000 });
    bar.finish();
    expect(tty[0]).toMatch(/^\r\[#{6}-{18}\] 3\/12 cells, 30s ETA 1m30s: cifar10-48 vgg16 int8 batch 8/);
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
    for (const flag of ['--config', '--preset', '--model', '--input', '--batch-sizes', '--precisions', '--backend', '--calib-data', '--accuracy-data', '--warmup', '--iterations', '--out', '--json']) {
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
