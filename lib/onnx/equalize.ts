/**
 * Exact per-channel rescaling across layers, the one rewrite behind three uses:
 * - hardening a model for tests and benchmarks (lib/models/hard.ts): random channel scales that leave FP32 outputs
 *   unchanged but make per-tensor activation ranges dominated by a few channels;
 * - cross-layer equalization (Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias
 *   Correction", 2019): scales that give each channel the same weight range in the producer and the consumer;
 * - SmoothQuant-style smoothing (Xiao et al., 2023, lib/onnx/smooth.ts): scales that move activation outliers of a
 *   Gemm/MatMul input into its weight.
 * A scale pair is a producer (Conv, Gemm, MatMul with a constant weight, or LayerNormalization) whose output channel
 * c reaches one or more consumers (Conv of group 1 or depthwise, Gemm, MatMul with a constant weight) only through
 * positively homogeneous ops (Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten): f(s x) = s f(x) for s > 0.
 * Multiplying output channel c of the producer (weight slice and bias) by s_c and dividing input channel c of every
 * consumer by s_c leaves the consumers' outputs unchanged in exact arithmetic.
 */
import { TrtnError } from '../errors.js';
import { attrFloat, attrInt, consumerMap, findInitializer, isDefaultDomain as isDefault } from './graph.js';
import { DataType, type OnnxModel, type OnnxNode } from './model.js';
import { makeTensor, tensorToFloat32 } from './tensor.js';

/** Ops between producer and consumers through which a per-channel positive scale passes unchanged. */
const HOMOGENEOUS_OPS = new Set(['Relu', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Flatten']);

/** Where channel c lies in a weight: `block` consecutive indices from c * block along `axis`. */
interface Slice {
  weight: string;
  axis: number;
  block: number;
}

export interface ScalePair {
  producer: string;
  producerOp: string;
  consumers: string[];
  /** The activation read by the consumers: its channel c is multiplied by s_c. */
  tensor: string;
  channels: number;
  /** Channel axis of `tensor` (1 for NCHW and [N, features]; the last axis for a MatMul's [.., T, C] input). */
  channelAxis: number;
  /** Producer output slices (weight and bias, or LayerNormalization's scale and bias) multiplied by s_c. */
  out: Slice[];
  /** Consumer weight slices divided by s_c. */
  in: Slice[];
}

/** The producer's output-channel slices, or undefined when it is not a producer this rewrite can scale. */
function producerSlices(model: OnnxModel, node: OnnxNode): { slices: Slice[]; channels: number; lastAxis: boolean } | undefined {
  const g = model.graph;
  const w = findInitializer(g, node.inputs[1] ?? '');
  if (!w || w.dataType !== DataType.FLOAT) return undefined;
  const b = node.inputs[2] ? findInitializer(g, node.inputs[2]) : undefined;
  if (node.inputs[2] && (!b || b.dataType !== DataType.FLOAT || b.dims.length !== 1)) return undefined;
  let axis: number;
  let lastAxis = false;
  switch (node.opType) {
    case 'Conv':
      axis = 0;
      break;
    case 'Gemm':
      if (attrInt(node, 'transA', 0) !== 0 || w.dims.length !== 2) return undefined;
      axis = attrInt(node, 'transB', 0) === 1 ? 0 : 1;
      break;
    case 'MatMul':
      if (w.dims.length !== 2) return undefined;
      axis = 1;
      lastAxis = true;
      break;
    case 'LayerNormalization':
      // y = normalized * scale + bias along the last axis (axis -1, a 1-D scale).
      if (attrInt(node, 'axis', -1) !== -1 || w.dims.length !== 1) return undefined;
      axis = 0;
      lastAxis = true;
      break;
    default:
      return undefined;
  }
  const channels = w.dims[axis]!;
  if (b && b.dims[0] !== channels) return undefined;
  const slices: Slice[] = [{ weight: w.name, axis, block: 1 }];
  if (b) slices.push({ weight: b.name, axis: 0, block: 1 });
  return { slices, channels, lastAxis };
}

/** The consumer's input-channel slice for `channels` input channels, or undefined when it cannot take the scale. */
function consumerSlice(model: OnnxModel, node: OnnxNode, channels: number, lastAxis: boolean): Slice | undefined {
  const w = findInitializer(model.graph, node.inputs[1] ?? '');
  if (!w || w.dataType !== DataType.FLOAT) return undefined;
  switch (node.opType) {
    case 'Conv': {
      if (lastAxis) return undefined;
      const group = attrInt(node, 'group', 1);
      if (group === 1 && w.dims[1] === channels) return { weight: w.name, axis: 1, block: 1 };
      // depthwise (multiplier m): output rows c*m .. c*m+m-1 read input channel c
      if (group === channels && w.dims[1] === 1 && w.dims[0]! % channels === 0) return { weight: w.name, axis: 0, block: w.dims[0]! / channels };
      return undefined;
    }
    case 'Gemm': {
      if (attrInt(node, 'transA', 0) !== 0 || w.dims.length !== 2) return undefined;
      const axis = attrInt(node, 'transB', 0) === 1 ? 1 : 0;
      const k = w.dims[axis]!;
      // a Flatten in between: channel c is the block of k / channels features (NCHW order)
      return k % channels === 0 ? { weight: w.name, axis, block: k / channels } : undefined;
    }
    case 'MatMul':
      if (w.dims.length !== 2 || w.dims[0] !== channels || !lastAxis) return undefined;
      return { weight: w.name, axis: 0, block: 1 };
    default:
      return undefined;
  }
}

/**
 * Every scale pair of the model, in graph order. A weight or bias used by more than one node, a tensor with other
 * readers on the way, or a graph output on the way rules a pair out.
 */
export function findScalePairs(model: OnnxModel, options: { producers?: readonly string[] } = {}): ScalePair[] {
  const g = model.graph;
  const consumers = consumerMap(g);
  const graphOutputs = new Set(g.outputs.map((v) => v.name));
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const t of n.inputs) uses.set(t, (uses.get(t) ?? 0) + 1);
  const allowed = new Set(options.producers ?? ['Conv', 'Gemm', 'MatMul', 'LayerNormalization']);
  const pairs: ScalePair[] = [];
  for (const node of g.nodes) {
    if (!isDefault(node) || !allowed.has(node.opType) || !node.name) continue;
    const p = producerSlices(model, node);
    if (!p || p.slices.some((s) => uses.get(s.weight) !== 1)) continue;
    let t = node.outputs[0]!;
    let readers = consumers.get(t) ?? [];
    let flattened = false;
    let ok = true;
    while (ok && readers.length === 1 && HOMOGENEOUS_OPS.has(readers[0]!.node.opType) && isDefault(readers[0]!.node) && readers[0]!.node.inputs[0] === t) {
      const n = readers[0]!.node;
      if (graphOutputs.has(t)) ok = false;
      if (n.opType === 'Flatten') {
        if (attrInt(n, 'axis', 1) !== 1 || p.lastAxis) ok = false;
        flattened = true;
      }
      t = n.outputs[0]!;
      readers = consumers.get(t) ?? [];
    }
    if (!ok || graphOutputs.has(t) || readers.length === 0) continue;
    const ins: Slice[] = [];
    const names: string[] = [];
    for (const r of readers) {
      const n = r.node;
      const slice = isDefault(n) && r.slot === 0 && n.name && !(flattened && n.opType !== 'Gemm') ? consumerSlice(model, n, p.channels, p.lastAxis) : undefined;
      if (!slice || uses.get(slice.weight) !== 1) {
        ok = false;
        break;
      }
      if (!flattened && n.opType === 'Gemm' && slice.block !== 1) ok = false;
      ins.push(slice);
      names.push(n.name);
    }
    if (!ok) continue;
    pairs.push({ producer: node.name, producerOp: node.opType, consumers: names, tensor: t, channels: p.channels, channelAxis: p.lastAxis ? -1 : 1, out: p.slices, in: ins });
  }
  return pairs;
}

/** Float32 copies of initializers being rescaled, written back once at the end. */
export class WeightEditor {
  private readonly data = new Map<string, { dims: readonly number[]; values: Float32Array }>();
  constructor(private readonly model: OnnxModel) {}

  get(name: string): { dims: readonly number[]; values: Float32Array } {
    let d = this.data.get(name);
    if (!d) {
      const t = findInitializer(this.model.graph, name);
      if (!t) throw new TrtnError('ERR_ONNX_MODEL', `initializer '${name}' not found`, { tensor: name });
      d = { dims: t.dims, values: Float32Array.from(tensorToFloat32(t)) };
      this.data.set(name, d);
    }
    return d;
  }

  /** Per-channel max |w| of a slice (channel c: `block` entries from c*block along `axis`). */
  range(slice: Slice, channels: number): Float64Array {
    const { dims, values } = this.get(slice.weight);
    const r = new Float64Array(channels);
    forEachSlice(dims, slice, (c, i) => {
      const a = Math.abs(values[i]!);
      if (a > r[c]!) r[c] = a;
    });
    return r;
  }

  /** Multiply channel c of a slice by factor[c]. */
  scale(slice: Slice, factor: ArrayLike<number>): void {
    const { dims, values } = this.get(slice.weight);
    forEachSlice(dims, slice, (c, i) => {
      values[i] = values[i]! * factor[c]!;
    });
  }

  /** The model with the edited initializers. */
  result(): OnnxModel {
    const inits = this.model.graph.initializers.map((t) => {
      const d = this.data.get(t.name);
      return d ? makeTensor(t.name, d.values, t.dims) : t;
    });
    return { ...this.model, graph: { ...this.model.graph, initializers: inits } };
  }
}

function forEachSlice(dims: readonly number[], slice: Slice, fn: (channel: number, index: number) => void): void {
  const len = dims[slice.axis] ?? 1;
  const outer = dims.slice(0, slice.axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(slice.axis + 1).reduce((a, b) => a * b, 1);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < len; j++) {
      const c = Math.floor(j / slice.block);
      const base = (o * len + j) * inner;
      for (let k = 0; k < inner; k++) fn(c, base + k);
    }
}

/** Apply s_c to a pair: producer output channel c times s_c, consumer input channel c divided by s_c. */
export function applyPairScale(editor: WeightEditor, pair: ScalePair, s: ArrayLike<number>): void {
  for (let c = 0; c < pair.channels; c++) if (!(s[c]! > 0 && Number.isFinite(s[c]!))) throw new TrtnError('ERR_INVALID_ARG', `scale of channel ${c} of '${pair.tensor}' is ${s[c]}; it must be positive and finite`, { tensor: pair.tensor });
  const inv = Float64Array.from({ length: pair.channels }, (_, c) => 1 / s[c]!);
  for (const o of pair.out) editor.scale(o, s);
  for (const i of pair.in) editor.scale(i, inv);
}

/** Per-channel max |w| over every consumer's input slice of a pair. */
export function consumerRange(editor: WeightEditor, pair: ScalePair): Float64Array {
  const r = new Float64Array(pair.channels);
  for (const i of pair.in) editor.range(i, pair.channels).forEach((v, c) => (r[c] = Math.max(r[c]!, v)));
  return r;
}

export interface EqualizeReport {
  /** Producer -> consumers of each equalized pair. */
  pairs: { producer: string; consumers: string[]; tensor: string }[];
  sweeps: number;
}

/**
 * Cross-layer equalization: for each pair of weight-carrying layers, s_c = sqrt(r2_c / r1_c) with r1_c the range of
 * the producer's output channel c and r2_c the range of the consumers' input channel c, so that both become
 * sqrt(r1_c r2_c). Pairs in a chain share a layer, so sweeps repeat until no scale moves by more than 1e-3
 * (at most `maxSweeps`, default 20). Exact in FP32 arithmetic; a LayerNormalization producer is left to smoothing.
 */
export function equalizeModel(model: OnnxModel, options: { maxSweeps?: number } = {}): { model: OnnxModel; report: EqualizeReport } {
  const pairs = findScalePairs(model, { producers: ['Conv', 'Gemm', 'MatMul'] });
  const editor = new WeightEditor(model);
  let sweeps = 0;
  for (; sweeps < (options.maxSweeps ?? 20); ) {
    sweeps++;
    let moved = 0;
    for (const pair of pairs) {
      const r1 = editor.range(pair.out[0]!, pair.channels);
      const r2 = consumerRange(editor, pair);
      const s = Float64Array.from({ length: pair.channels }, (_, c) => (r1[c]! > 0 && r2[c]! > 0 ? Math.sqrt(r2[c]! / r1[c]!) : 1));
      for (const v of s) moved = Math.max(moved, Math.abs(Math.log(v)));
      applyPairScale(editor, pair, s);
    }
    if (moved < 1e-3) break;
  }
  return { model: editor.result(), report: { pairs: pairs.map((p) => ({ producer: p.producer, consumers: p.consumers, tensor: p.tensor })), sweeps } };
}

export interface BiasCorrectionReport {
  /** Layers whose bias absorbed the expected error of their quantized weights, with the largest shift. */
  corrected: { node: string; maxShift: number }[];
  /** Layers not corrected, with the reason. */
  skipped: { node: string; reason: string }[];
}

/**
 * Bias correction (Nagel et al., 2019, analytic form): the quantized weight W_q shifts each output's mean by
 * (W_q - W) E[x]; subtracting that from the bias removes the shift. `means` holds E[x] per input channel of each
 * node's data input (keyed by the input tensor); `weights` quantizes a weight as insertQdq will.
 * Conv (any group, padding ignored), Gemm (alpha = beta = 1) and MatMul followed by nothing else are handled; a
 * MatMul has no bias input and is skipped.
 */
export function correctBias(
  model: OnnxModel,
  nodes: readonly string[],
  means: ReadonlyMap<string, ArrayLike<number>>,
  quantize: (w: Float32Array, dims: readonly number[], axis: number, node: OnnxNode) => Float32Array,
): { model: OnnxModel; report: BiasCorrectionReport } {
  const g = model.graph;
  const editor = new WeightEditor(model);
  const report: BiasCorrectionReport = { corrected: [], skipped: [] };
  const added: { node: OnnxNode; bias: string; values: Float32Array }[] = [];
  for (const name of nodes) {
    const node = g.nodes.find((n) => n.name === name);
    if (!node) continue;
    const skip = (reason: string) => void report.skipped.push({ node: name, reason });
    const mu = means.get(node.inputs[0] ?? '');
    const w = findInitializer(g, node.inputs[1] ?? '');
    if (!mu || !w) {
      skip('no input statistics or constant weight');
      continue;
    }
    let axis: number;
    // delta(o) = sum over the weight entries of output o of dW * mean of the input channel they read
    let inputChannel: (index: number) => number;
    let outputOf: (index: number) => number;
    const dims = w.dims;
    const size = dims.reduce((a, b) => a * b, 1);
    if (node.opType === 'Conv') {
      axis = 0;
      const [o, cg] = dims as [number, number];
      const k = size / (o * cg);
      const group = attrInt(node, 'group', 1);
      const perGroup = o / group;
      outputOf = (i) => Math.floor(i / (cg * k));
      inputChannel = (i) => Math.floor(outputOf(i) / perGroup) * cg + (Math.floor(i / k) % cg);
    } else if (node.opType === 'Gemm' || node.opType === 'MatMul') {
      if (node.opType === 'MatMul') {
        skip('MatMul has no bias input');
        continue;
      }
      if (attrFloat(node, 'alpha', 1) !== 1 || attrFloat(node, 'beta', 1) !== 1) {
        skip('Gemm with alpha or beta other than 1');
        continue;
      }
      const transB = attrInt(node, 'transB', 0) === 1;
      const cols = dims[1]!;
      axis = transB ? 0 : 1;
      outputOf = transB ? (i) => Math.floor(i / cols) : (i) => i % cols;
      inputChannel = transB ? (i) => i % cols : (i) => Math.floor(i / cols);
    } else {
      skip(`${node.opType} is not corrected`);
      continue;
    }
    const outputs = dims[axis]!;
    const wf = editor.get(w.name).values;
    const wq = quantize(wf, dims, axis, node);
    const delta = new Float64Array(outputs);
    const expected = node.opType === 'Conv' ? dims[1]! * attrInt(node, 'group', 1) : dims[1 - axis]!;
    if (mu.length !== expected) {
      skip(`input statistics have ${mu.length} channels, the weight reads ${expected}`);
      continue;
    }
    for (let i = 0; i < size; i++) delta[outputOf(i)]! += (wq[i]! - wf[i]!) * mu[inputChannel(i)]!;
    const biasName = node.inputs[2];
    let maxShift = 0;
    for (const d of delta) maxShift = Math.max(maxShift, Math.abs(d));
    if (biasName) {
      const b = findInitializer(g, biasName);
      if (!b || b.dataType !== DataType.FLOAT || b.dims.length !== 1 || b.dims[0] !== outputs) {
        skip('its bias is not a float32 vector initializer');
        continue;
      }
      const bv = editor.get(biasName).values;
      for (let c = 0; c < outputs; c++) bv[c] = bv[c]! - delta[c]!;
    } else {
      added.push({ node, bias: `${name}.corrected_bias`, values: Float32Array.from(delta, (d) => -d) });
    }
    report.corrected.push({ node: name, maxShift });
  }
  let result = editor.result();
  if (added.length) {
    const biasOf = new Map(added.map((a) => [a.node, a]));
    result = {
      ...result,
      graph: {
        ...result.graph,
        nodes: result.graph.nodes.map((n, i) => {
          const a = biasOf.get(g.nodes[i]!);
          return a ? { ...n, inputs: [n.inputs[0]!, n.inputs[1]!, a.bias] } : n;
        }),
        initializers: [...result.graph.initializers, ...added.map((a) => makeTensor(a.bias, a.values, [a.values.length]))],
      },
    };
  }
  return { model: result, report };
}
