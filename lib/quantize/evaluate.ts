/** Top-1 accuracy of an engine over a labelled data source (the first output's argmax against the labels). */
import { TrtnError } from '../errors.js';
import type { Engine, Progress } from '../engine/types.js';
import type { DataSource } from '../data/types.js';
import { toBatches } from '../data/source.js';

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
    const out = (await engine.infer(batch.feeds, { signal: options.signal }))[output.name]!;
    const rows = out.dims[0] ?? 1;
    const classes = out.data.length / rows;
    const logits = out.data as Float32Array;
    for (let r = 0; r < rows && r < batch.labels.length; r++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
      if (best === batch.labels[r]) correct++;
      count++;
    }
    options.onProgress?.({ phase: 'evaluate', step: count, steps: options.limit ?? total ?? 0 });
  }
  if (count === 0) throw new TrtnError('ERR_DATA', 'evaluation data produced no items');
  return { top1: correct / count, correct, count, seconds: (performance.now() - t0) / 1000 };
}
