/**
 * SVG charts per model and input setting: latency against throughput (one line per precision, one point per batch
 * size: the trade-off the study exists to show) beside grouped speedup bars (Eq. 19, like the study's Figures
 * 12-15); improvement-factor bars (Eq. 20) only where the throughput run tells something the latency run does not.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { StudyCell, StudyResults } from '../results.js';
import { ordered } from './tables.js';

export type ChartMetric = 'latencyThroughput' | 'speedup' | 'improvementFactor';

export interface ChartFile {
  input: string;
  model: string;
  metric: ChartMetric;
  title: string;
  /** Relative path inside the report directory, e.g. charts/speedup-3x48x48-vgg16.svg. */
  file: string;
  svg: string;
}

const METRIC_TITLE: Record<Exclude<ChartMetric, 'latencyThroughput'>, string> = {
  speedup: 'Speedup (Eq. 19)',
  improvementFactor: 'Improvement factor (Eq. 20)',
};

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export interface ChartPoint {
  batchSize: number;
  precision: string;
  value: number;
}

/** The vega-lite spec of one bar chart (exported so tests can check the data it carries). */
export function chartSpec(title: string, yTitle: string, points: ChartPoint[], precisions: string[]): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    // Three charts (trade-off, Eq. 19, Eq. 20) side by side within a 1400 px page.
    width: 220,
    height: 240,
    background: 'white',
    data: { values: points },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'batchSize', type: 'ordinal', title: 'batch size', axis: { labelAngle: 0 } },
          xOffset: { field: 'precision', type: 'nominal', sort: precisions },
          y: { field: 'value', type: 'quantitative', title: yTitle },
          color: { field: 'precision', type: 'nominal', sort: precisions, title: 'precision' },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { y: { datum: 1 } } },
    ],
  };
}

export interface TradeoffPoint {
  batchSize: number;
  precision: string;
  latencyMs: number;
  throughput: number;
}

/** Latency (x, log) against throughput (y): a line per precision through its batch sizes, each point labelled. */
export function tradeoffSpec(title: string, points: TradeoffPoint[], precisions: string[]): vl.TopLevelSpec {
  const color = { field: 'precision', type: 'nominal' as const, sort: precisions, title: 'precision' };
  const x = { field: 'latencyMs', type: 'quantitative' as const, title: 'latency per batch, median (ms, log)', scale: { type: 'log' as const } };
  const y = { field: 'throughput', type: 'quantitative' as const, title: 'throughput (images/s)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 300,
    height: 240,
    background: 'white',
    data: { values: points },
    layer: [
      { mark: { type: 'line', point: true, tooltip: true }, encoding: { x, y, color, order: { field: 'batchSize', type: 'quantitative' } } },
      { mark: { type: 'text', dx: 8, dy: -6, fontSize: 9, align: 'left' }, encoding: { x, y, color, text: { field: 'batchSize', type: 'quantitative' } } },
    ],
  };
}

export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Eq. 20 carries information only where it is not Eq. 19 again: some cell's improvement factor differs from its
 * speedup by more than the two runs' noise.
 */
export function improvementFactorInformative(cells: readonly StudyCell[]): boolean {
  return cells.some((c) => {
    if (c.status !== 'ok' || typeof c.speedup !== 'number' || typeof c.improvementFactor !== 'number' || c.precision === 'base') return false;
    const noise = (c.latencyMs?.noise ?? 0) + (c.throughputNoise ?? 0);
    return Math.abs(c.improvementFactor / c.speedup - 1) > noise;
  });
}

/** Render every chart the results have data for. */
export async function renderCharts(results: StudyResults): Promise<ChartFile[]> {
  const charts: ChartFile[] = [];
  for (const input of ordered(results.cells.map((c) => c.input))) {
    const cells = results.cells.filter((c) => c.input === input);
    for (const model of ordered(cells.map((c) => c.model))) {
      const mine = cells.filter((c) => c.model === model && c.status === 'ok');
      const precisions = ordered(cells.filter((c) => c.model === model).map((c) => c.column));
      const tradeoff = mine
        .filter((c) => c.latencyMs && typeof c.throughput === 'number' && Number.isFinite(c.throughput))
        .map((c) => ({ batchSize: c.batchSize, precision: c.column, latencyMs: c.latencyMs!.median, throughput: c.throughput! }));
      if (tradeoff.length) {
        // Short titles: a title wider than its chart widens the SVG (the input setting is in the section heading).
        const title = `${model}: latency vs throughput`;
        charts.push({ input, model, metric: 'latencyThroughput', title, file: `charts/latency-throughput-${slug(input)}-${slug(model)}.svg`, svg: await renderSvg(tradeoffSpec(title, tradeoff, precisions)) });
      }
      const metrics = improvementFactorInformative(mine) ? (['speedup', 'improvementFactor'] as const) : (['speedup'] as const);
      for (const metric of metrics) {
        const points = mine
          .filter((c) => typeof c[metric] === 'number' && Number.isFinite(c[metric]))
          .map((c) => ({ batchSize: c.batchSize, precision: c.column, value: c[metric] as number }));
        if (points.length === 0) continue;
        const title = `${model}: ${METRIC_TITLE[metric]}`;
        const svg = await renderSvg(chartSpec(title, METRIC_TITLE[metric], points, precisions));
        const name = metric === 'speedup' ? 'speedup' : 'improvement-factor';
        charts.push({ input, model, metric, title, file: `charts/${name}-${slug(input)}-${slug(model)}.svg`, svg });
      }
    }
  }
  return charts;
}
