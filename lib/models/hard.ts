/**
 * Hard versions of a model for post-training quantization: FP32-identical (up to float rounding), but each
 * activation between two scalable layers (lib/onnx/equalize.ts) gets per-channel scales spread over
 * [1, maxScale], so its per-tensor range is dominated by a few channels. With a spread of 300, plain entropy PTQ of
 * the Fashion-MNIST models loses tens of points; with 3000 it falls towards chance (bench/int8-hard.mjs).
 */
import { TrtnError } from '../errors.js';
import { createRandom } from '../data/random.js';
import { foldBatchNorm } from '../onnx/fold.js';
import { applyPairScale, findScalePairs, WeightEditor } from '../onnx/equalize.js';
import type { OnnxModel } from '../onnx/model.js';

export interface HardenOptions {
  /** Largest channel scale (default 300): scales are log-uniform in [1, maxScale], with 1 and maxScale both used. */
  maxScale?: number;
  seed?: number;
}

export interface HardenReport {
  /** Each rescaled activation with its smallest and largest channel scale. */
  tensors: { tensor: string; producer: string; consumers: string[]; min: number; max: number }[];
}

/** Rescale every Conv -> (Relu, pooling, Flatten) -> Conv/Gemm pair of `model` (BatchNorm folded first). */
export function hardenModel(model: OnnxModel, options: HardenOptions = {}): { model: OnnxModel; report: HardenReport } {
  const maxScale = options.maxScale ?? 300;
  if (!(typeof maxScale === 'number' && maxScale >= 1 && Number.isFinite(maxScale))) throw new TrtnError('ERR_INVALID_ARG', `hardenModel: maxScale must be a finite number >= 1, got ${maxScale}`);
  const folded = foldBatchNorm(model);
  const pairs = findScalePairs(folded, { producers: ['Conv'] });
  if (pairs.length === 0) throw new TrtnError('ERR_UNSUPPORTED', `hardenModel: ${model.graph.name || 'the model'} has no Conv -> Relu -> Conv/Gemm pair to rescale`);
  const random = createRandom(options.seed ?? 0);
  const editor = new WeightEditor(folded);
  const tensors: HardenReport['tensors'] = [];
  for (const pair of pairs) {
    const s = Float64Array.from({ length: pair.channels }, () => Math.exp(random() * Math.log(maxScale)));
    // the extremes are always present: one channel at maxScale, one at 1
    const hi = Math.floor(random() * pair.channels);
    s[hi] = maxScale;
    if (pair.channels > 1) s[(hi + 1 + Math.floor(random() * (pair.channels - 1))) % pair.channels] = 1;
    applyPairScale(editor, pair, s);
    tensors.push({ tensor: pair.tensor, producer: pair.producer, consumers: pair.consumers, min: Math.min(...s), max: Math.max(...s) });
  }
  const hard = editor.result();
  return { model: { ...hard, graph: { ...hard.graph, name: `${model.graph.name || 'model'}_hard${maxScale}` } }, report: { tensors } };
}
