/**
 * SVG charts of speedup and improvement factor against batch size, one per model and input setting, like the
 * study's Figures 12-15: grouped bars per precision, with the base (1.0) drawn as a rule.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { StudyResults } from '../results.js';
import { ordered } from './tables.js';

export type ChartMetric = 'speedup' | 'improvementFactor';

export interface ChartFile {
  input: string;
  model: string;
  metric: ChartMetric;
  title: string;
  /** Relative path inside the report directory, e.g. charts/speedup-cifar10-48-vgg16.svg. */
  file: string;
  svg: string;
}

const METRIC_TITLE: Record<ChartMetric, string> = {
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

/** The vega-lite spec of one chart (exported so tests can check the data it carries). */
export function chartSpec(title: string, yTitle: string, points: ChartPoint[], precisions: string[]): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 360,
    height: 220,
    background: 'white',
    data: { values: points },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'batchSize', type: 'ordinal', title: 'batch size' },
          xOffset: { field: 'precision', type: 'nominal', sort: precisions },
          y: { field: 'value', type: 'quantitative', title: yTitle },
          color: { field: 'precision', type: 'nominal', sort: precisions, title: 'precision' },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { y: { datum: 1 } } },
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

/** Render every chart the results have data for (measured cells with a base to compare against). */
export async function renderCharts(results: StudyResults): Promise<ChartFile[]> {
  const charts: ChartFile[] = [];
  for (const input of ordered(results.cells.map((c) => c.input))) {
    const cells = results.cells.filter((c) => c.input === input);
    for (const model of ordered(cells.map((c) => c.model))) {
      const mine = cells.filter((c) => c.model === model);
      const precisions = ordered(mine.map((c) => c.column));
      for (const metric of ['speedup', 'improvementFactor'] as const) {
        const points = mine
          .filter((c) => c.status === 'ok' && typeof c[metric] === 'number' && Number.isFinite(c[metric]))
          .map((c) => ({ batchSize: c.batchSize, precision: c.column, value: c[metric] as number }));
        if (points.length === 0) continue;
        const title = `${model} (${input}): ${METRIC_TITLE[metric]}`;
        const svg = await renderSvg(chartSpec(title, METRIC_TITLE[metric], points, precisions));
        const name = metric === 'speedup' ? 'speedup' : 'improvement-factor';
        charts.push({ input, model, metric, title, file: `charts/${name}-${slug(input)}-${slug(model)}.svg`, svg });
      }
    }
  }
  return charts;
}
