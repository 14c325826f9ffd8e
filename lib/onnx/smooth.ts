/**
 * SmoothQuant-style smoothing (Xiao et al., 2023) for Gemm/MatMul inputs: per-tensor activation quantization loses
 * the small channels when a few channels carry outliers; scaling channel c of the activation by
 * s_c = w_c^(1 - alpha) / a_c^alpha (a_c: its range over the data, w_c: the consumers' weight range of that input
 * channel; alpha = 0.5 makes both sqrt(a_c w_c)) moves that range into the weight, quantized per output channel. The scale is folded into the producer
 * (Conv/Gemm/MatMul weight and bias, or LayerNormalization's scale and bias) through lib/onnx/equalize.ts, so the
 * smoothed model computes the same function and has no extra op.
 */
import { TrtnError } from '../errors.js';
import { applyPairScale, consumerRange, findScalePairs, WeightEditor, type ScalePair } from './equalize.js';
import type { OnnxModel } from './model.js';

/** Pairs whose consumers are all Gemm or MatMul: the activations smoothing applies to. */
export function smoothingPairs(model: OnnxModel): ScalePair[] {
  return findScalePairs(model).filter((p) => p.consumers.every((c) => ['Gemm', 'MatMul'].includes(model.graph.nodes.find((n) => n.name === c)!.opType)));
}

export interface SmoothReport {
  alpha: number;
  /** Each smoothed activation with the ratio of its largest to its smallest non-zero channel range, before and after. */
  tensors: { tensor: string; producer: string; consumers: string[]; spreadBefore: number; spreadAfter: number }[];
}

/**
 * Smooth every pair of smoothingPairs(model) with per-channel activation ranges `absMax` (keyed by pair.tensor; a
 * flattened tensor may give one range per feature, reduced here to its channel). alpha (default 0.5) is the share
 * of the activation range moved into the weight.
 */
export function smoothModel(model: OnnxModel, absMax: ReadonlyMap<string, ArrayLike<number>>, options: { alpha?: number } = {}): { model: OnnxModel; report: SmoothReport } {
  const alpha = options.alpha ?? 0.5;
  if (!(alpha > 0 && alpha < 1)) throw new TrtnError('ERR_INVALID_ARG', `smoothing alpha must be in (0, 1), got ${alpha}`);
  const editor = new WeightEditor(model);
  const tensors: SmoothReport['tensors'] = [];
  for (const pair of smoothingPairs(model)) {
    const raw = absMax.get(pair.tensor);
    if (!raw) throw new TrtnError('ERR_CALIB_DATA', `smoothing: no channel ranges for tensor '${pair.tensor}'`, { tensor: pair.tensor });
    if (raw.length % pair.channels !== 0) throw new TrtnError('ERR_CALIB_DATA', `smoothing: ${raw.length} ranges for tensor '${pair.tensor}' of ${pair.channels} channels`, { tensor: pair.tensor });
    const block = raw.length / pair.channels;
    const a = new Float64Array(pair.channels);
    for (let i = 0; i < raw.length; i++) a[Math.floor(i / block)] = Math.max(a[Math.floor(i / block)]!, raw[i]!);
    const w = consumerRange(editor, pair);
    // channel c of the activation times s_c, the consumers' weights divided by it
    const s = Float64Array.from({ length: pair.channels }, (_, c) => (a[c]! > 0 && w[c]! > 0 ? Math.pow(w[c]!, 1 - alpha) / Math.pow(a[c]!, alpha) : 1));
    // keep the overall activation scale (only the balance between channels matters to per-tensor quantization)
    const norm = Math.max(...a) / Math.max(...a.map((v, c) => v * s[c]!));
    for (let c = 0; c < s.length; c++) s[c] = s[c]! * norm;
    applyPairScale(editor, pair, s);
    tensors.push({ tensor: pair.tensor, producer: pair.producer, consumers: pair.consumers, spreadBefore: spread(a), spreadAfter: spread(a.map((v, c) => v * s[c]!)) });
  }
  return { model: editor.result(), report: { alpha, tensors } };
}

function spread(ranges: Float64Array): number {
  const nz = [...ranges].filter((v) => v > 0);
  return nz.length ? Math.max(...nz) / Math.min(...nz) : 1;
}
