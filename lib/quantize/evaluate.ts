/** Top-1 accuracy of an engine over a labelled data source (the first output's argmax against the labels). */
import { TrtnError } from '../errors.js';
import type { Engine, Progress } from '../engine/types.js';
import type { DataSource } from '../data/types.js';
import { toBatches } from '../data/source.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../data/float16.js';
import type { Feeds, TensorData } from '../engine/types.js';

/** A float32 feed as float16 words, for engines whose input is float16. */
function toFloat16Feed(t: TensorData): TensorData {
  if (t.dtype !== 'float32') return t;
  const src = t.data as Float32Array;
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32ToFloat16Bits(src[i]!);
  return { data: out, dims: t.dims, dtype: 'float16' };
}

export interface EvaluateOptions {
  batchSize?: number;
  limit?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface EvaluateResult {
  top1: number;
  correct: number;
  count: number;
  seconds: number;
}

/** Rows of `logits` ([rows, classes]) whose argmax is the label (rows past the labels are not counted). */
export function countCorrect(logits: ArrayLike<number>, rows: number, classes: number, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let r = 0; r < rows && r < labels.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    if (best === labels[r]) correct++;
  }
  return correct;
}

export async function evaluateTop1(engine: Engine, data: DataSource, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  const input = engine.inputs[0];
  const output = engine.outputs[0];
  if (!input || !output) throw new TrtnError('ERR_ONNX_MODEL', 'evaluation needs an engine with an input and an output');
  const total = (data as { length?: number }).length;
  let correct = 0;
  let count = 0;
  const t0 = performance.now();
  for await (const batch of toBatches(data, { inputName: input.name, batchSize: options.batchSize ?? 64, limit: options.limit, signal: options.signal })) {
    if (!batch.labels) throw new TrtnError('ERR_DATA', `evaluation data has no labels (batch ${count === 0 ? 0 : 'after ' + count + ' items'})`);
    let feeds: Feeds = batch.feeds;
    if (input.dtype === 'float16') feeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toFloat16Feed(v)]));
    const out = (await engine.infer(feeds, { signal: options.signal }))[output.name];
    if (!out) throw new TrtnError('ERR_INFERENCE', `engine returned no output '${output.name}'`, { tensor: output.name });
    const rows = out.dims[0] ?? 1;
    const classes = out.data.length / rows;
    const logits = out.dtype === 'float16' ? Float32Array.from(out.data as Uint16Array, float16BitsToFloat32) : (out.data as Float32Array);
    correct += countCorrect(logits, rows, classes, batch.labels);
    count += Math.min(rows, batch.labels.length);
    options.onProgress?.({ phase: 'evaluate', step: count, steps: options.limit ?? total ?? 0 });
  }
  if (count === 0) throw new TrtnError('ERR_DATA', 'evaluation data produced no items');
  return { top1: correct / count, correct, count, seconds: (performance.now() - t0) / 1000 };
}
