/**
 * Depthwise convolutions padded to a channel count ONNX Runtime's fast kernels take. ORT runs an int8 depthwise
 * QLinearConv on its symmetric kernel (MlasConvSymDepthwise) only when the channel (group) count is a multiple of 16
 * (MlasConvSymPackWSize returns 0 otherwise); else it falls back to a generic kernel. bench/int8-depthwise.mjs on this
 * project's AVX512-VNNI machine (four pointwise-depthwise-pointwise blocks, batch 64, 12x12, 2 threads): 58 channels
 * 7.4 ms at int8, 1.7 ms padded to 64; FP32's blocked kernels prefer such counts too (8.0 ms at 58, 2.3 ms at 64).
 *
 * The rewrite is exact: for Conv P -> [unary ops] -> depthwise Conv D -> [unary ops, squeeze-excitations] -> Conv Q,
 * where every tensor between P and Q has that one consumer (an excitation's input: its pool and its Mul), P gets zero output channels (zero weights, zero bias), D zero filters and the
 * new group count, and Q zero weights for the new input channels. The padded channels carry D's zero output (whatever
 * the unary ops make of P's zeros, D's zero filters ignore it) into Q's zero weights: Q's output is unchanged.
 * Only initializers, D's group and the value_info of the tensors between change; node and tensor names stay, so a
 * Q/DQ plan or calibration scales made for the model apply to the padded one.
 */
import { attr, attrInt, consumerMap, isDefaultDomain as isDefault, producerMap, soleReader, withGraph } from './graph.js';
import type { OnnxModel, OnnxNode, OnnxTensor } from './model.js';
import { makeTensor, tensorToFloat32 } from './tensor.js';

/** Elementwise ops of one input whose result is finite at 0 (what they make of the zero channels does not matter). */
const UNARY = new Set(['Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Identity']);

export interface PaddedDepthwise {
  /** The depthwise Conv, and the convolutions before and after it that were widened with it. */
  node: string;
  producer: string;
  consumer: string;
  from: number;
  to: number;
}

/** Every depthwise Conv whose channel count is not a multiple of `align` and that sits in such a chain, padded. */
export function padDepthwiseChannels(model: OnnxModel, options: { align?: number } = {}): { model: OnnxModel; padded: PaddedDepthwise[] } {
  const align = options.align ?? 16;
  const g = model.graph;
  const producers = producerMap(g);
  const consumers = consumerMap(g);
  const outputs = new Set(g.outputs.map((v) => v.name));
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const only = (tensor: string): OnnxNode | undefined => soleReader(consumers, outputs, tensor);
  /** A float initializer read by `node` alone (so widening it changes nothing else). */
  const ownInit = (node: OnnxNode, slot: number): OnnxTensor | undefined => {
    const name = node.inputs[slot];
    const t = name ? inits.get(name) : undefined;
    return t && t.dataType === 1 && (consumers.get(name!) ?? []).length === 1 ? t : undefined;
  };
  const plainConv = (n: OnnxNode): boolean => n.opType === 'Conv' && isDefault(n) && attrInt(n, 'group', 1) === 1 && ownInit(n, 1) !== undefined && (n.inputs.length < 3 || !n.inputs[2] || ownInit(n, 2) !== undefined);
  /**
   * A squeeze-excitation on `t`: t read by a GlobalAveragePool and a Mul, the pool -> plain Conv fc1 -> unary ops ->
   * plain Conv fc2 -> unary ops -> the Mul's other input. fc1 gets zero weights for the new channels and fc2 zero
   * output channels: the gate of a padded channel is finite and multiplies zero.
   */
  const excitation = (t: string): { fc1: OnnxNode; fc2: OnnxNode; out: string; tensors: string[] } | undefined => {
    const uses = consumers.get(t) ?? [];
    if (uses.length !== 2 || outputs.has(t)) return undefined;
    const pool = uses.find((u) => u.node.opType === 'GlobalAveragePool' && isDefault(u.node))?.node;
    const mul = uses.find((u) => u.node.opType === 'Mul' && isDefault(u.node))?.node;
    if (!pool || !mul || mul.inputs.length !== 2) return undefined;
    const other = mul.inputs[0] === t ? mul.inputs[1]! : mul.inputs[0]!;
    const tensors = [pool.outputs[0]!];
    const convs: OnnxNode[] = [];
    let x = pool.outputs[0]!;
    for (;;) {
      const next = only(x);
      if (!next) return undefined;
      if (next === mul) break;
      if (plainConv(next) && next.inputs[0] === x) convs.push(next);
      else if (!(UNARY.has(next.opType) && isDefault(next)) || next.outputs.length !== 1) return undefined;
      if (convs.length > 2) return undefined;
      x = next.outputs[0]!;
      tensors.push(x);
    }
    const [fc1, fc2] = convs;
    if (!fc1 || !fc2 || x !== other) return undefined;
    return { fc1, fc2, out: mul.outputs[0]!, tensors: [...tensors, mul.outputs[0]!] };
  };
  const changed = new Map<string, OnnxTensor>();
  const groups = new Map<OnnxNode, number>();
  const between = new Set<string>();
  const padded: PaddedDepthwise[] = [];
  for (const d of g.nodes) {
    if (d.opType !== 'Conv' || !isDefault(d)) continue;
    const w = ownInit(d, 1);
    const c = w?.dims[0];
    if (!w || c === undefined || w.dims[1] !== 1 || attrInt(d, 'group', 1) !== c || c % align === 0) continue;
    if (d.inputs[2] && !ownInit(d, 2)) continue;
    // up: unary ops back to a plain Conv whose output only they read
    const tensors: string[] = [];
    let t = d.inputs[0]!;
    let p: OnnxNode | undefined;
    for (;;) {
      if (only(t) === undefined) break;
      tensors.push(t);
      const prod = producers.get(t)?.node;
      if (!prod || prod.outputs.length !== 1) break;
      if (plainConv(prod)) {
        p = prod;
        break;
      }
      if (!(UNARY.has(prod.opType) && isDefault(prod))) break;
      t = prod.inputs[0]!;
    }
    if (!p || ownInit(p, 1)!.dims[0] !== c) continue;
    // down: unary ops (and squeeze-excitations) on to a plain Conv reading the chain as its input
    let q: OnnxNode | undefined;
    const se: { fc1: OnnxNode; fc2: OnnxNode }[] = [];
    t = d.outputs[0]!;
    for (;;) {
      const gated = excitation(t);
      if (gated) {
        se.push(gated);
        tensors.push(t, ...gated.tensors);
        t = gated.out;
        continue;
      }
      const next = only(t);
      if (!next) break;
      tensors.push(t);
      if (plainConv(next) && next.inputs[0] === t) {
        q = next;
        break;
      }
      if (!(UNARY.has(next.opType) && isDefault(next)) || next.outputs.length !== 1) break;
      t = next.outputs[0]!;
    }
    if (!q || ownInit(q, 1)!.dims[1] !== c || q === p) continue;
    if (se.some(({ fc1, fc2 }) => ownInit(fc1, 1)!.dims[1] !== c || ownInit(fc2, 1)!.dims[0] !== c)) continue;
    const to = Math.ceil(c / align) * align;
    const widen = (tensor: OnnxTensor, axis: number): void => {
      const dims = [...tensor.dims];
      const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
      const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      const src = tensorToFloat32(tensor);
      const out = new Float32Array(outer * to * inner);
      for (let o = 0; o < outer; o++) out.set(src.subarray(o * c * inner, (o + 1) * c * inner), o * to * inner);
      dims[axis] = to;
      changed.set(tensor.name, makeTensor(tensor.name, out, dims));
    };
    widen(ownInit(p, 1)!, 0);
    if (p.inputs[2]) widen(ownInit(p, 2)!, 0);
    widen(w, 0);
    if (d.inputs[2]) widen(ownInit(d, 2)!, 0);
    widen(ownInit(q, 1)!, 1);
    for (const { fc1, fc2 } of se) {
      widen(ownInit(fc1, 1)!, 1);
      widen(ownInit(fc2, 1)!, 0);
      if (fc2.inputs[2]) widen(ownInit(fc2, 2)!, 0);
    }
    groups.set(d, to);
    for (const x of tensors) between.add(x);
    padded.push({ node: d.name, producer: p.name, consumer: q.name, from: c, to });
  }
  if (padded.length === 0) return { model, padded };
  const nodes = g.nodes.map((n) => {
    const group = groups.get(n);
    return group === undefined ? n : { ...n, attributes: n.attributes.map((a) => (a.name === 'group' ? attr.int('group', group) : a)) };
  });
  const padModel = withGraph(model, {
    nodes,
    initializers: g.initializers.map((t) => changed.get(t.name) ?? t),
    // their channel count changed; shape inference (ours and ORT's) gives the new one
    valueInfo: g.valueInfo.filter((v) => !between.has(v.name)),
    // an initializer also listed as a graph input (IR < 4) would declare its old shape
    inputs: g.inputs.filter((v) => !changed.has(v.name)),
  });
  return { model: padModel, padded };
}
