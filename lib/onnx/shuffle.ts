/**
 * Channel shuffles (ShuffleNet's Reshape [N,2,C/2,H,W] -> Transpose [0,2,1,3,4] -> Reshape [N,C,H,W] of a Concat of
 * two halves) rewritten without the Transpose, exactly. On int8, ONNX Runtime runs convolutions channels-last and
 * cannot carry that layout through the 5-D Reshape/Transpose, so every shuffle cost it a uint8 Transpose of the whole
 * tensor plus two of half of it (ShuffleNetV2 at batch 64: 13.5 ms of Transposes against 1.7 ms in FP32, and the int8
 * model slower than FP32).
 *
 * With y = shuffle(Concat(a, b)), y[2i] = a[i] and y[2i+1] = b[i]. So:
 * - a Split of y into halves becomes Split(a) and Split(b) into halves and Concat(a1, b1), Concat(a2, b2): each half
 *   with its channels in a known order (a's quarter, then b's) instead of interleaved;
 * - any other reader takes Concat(a, b) itself, in that order.
 * A convolution reading such a tensor gets its input channels' weights permuted to match; any other reader (a
 * depthwise convolution, the next shuffle's Concat) gets the interleaved order back from a 1x1 convolution whose
 * weights are the permutation (exact: one weight of 1 per output channel), which takes the tensor's name. Only the
 * int8 path for ONNX Runtime applies it (lib/quantize/index.ts): in FP32 the Transposes are cheap.
 */
import { inferredShapes } from './check.js';
import { attr, attrInt, attrInts, consumerMap, initializersStillRead, isDefaultDomain as isDefault, makeNode, NameGenerator, producerMap, soleReader, withGraph } from './graph.js';
import type { OnnxModel, OnnxNode, OnnxTensor } from './model.js';
import { makeInt64Tensor, makeTensor, tensorToArray, tensorToFloat32 } from './tensor.js';

export interface ShuffleRewrite {
  /** The shuffle's Transpose. */
  node: string;
  channels: number;
  /** Splits of the shuffled tensor turned into Split/Concat of its two halves. */
  splits: number;
  /** Convolutions whose input weights took the new channel order. */
  folded: string[];
  /** 1x1 permutation convolutions added for other readers. */
  permutations: string[];
}

export function rewriteChannelShuffles(model: OnnxModel): { model: OnnxModel; rewrites: ShuffleRewrite[] } {
  const g = model.graph;
  const producers = producerMap(g);
  const consumers = consumerMap(g);
  const outputs = new Set(g.outputs.map((v) => v.name));
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const shapes = inferredShapes(model);
  if (!shapes) return { model, rewrites: [] };
  const channelsOf = (t: string): number | undefined => {
    const d = shapes.get(t)?.shape?.[1];
    return typeof d === 'number' ? d : undefined;
  };
  const constInts = (t: string | undefined): number[] | undefined => {
    const c = t ? inits.get(t) : undefined;
    return c ? Array.from(tensorToArray(c) as ArrayLike<number | bigint>, Number) : undefined;
  };
  const only = (t: string): OnnxNode | undefined => soleReader(consumers, outputs, t);
  const names = new NameGenerator(g);
  const removed = new Set<OnnxNode>();
  /** Nodes to emit just before a removed node (the shuffle's last Reshape). */
  const before = new Map<OnnxNode, OnnxNode[]>();
  const newInits: OnnxTensor[] = [];
  const replacedInits = new Map<string, OnnxTensor>();
  const rewired = new Map<OnnxNode, OnnxNode>();
  const rewrites: ShuffleRewrite[] = [];
  const permutedWeights = new Set<string>();

  /** A two-way equal Split of `t` along axis 1: its two outputs, else undefined. */
  const halves = (s: OnnxNode, t: string, c: number): [string, string] | undefined => {
    if (s.opType !== 'Split' || !isDefault(s) || s.inputs[0] !== t || s.outputs.length !== 2 || attrInt(s, 'axis', 0) !== 1) return undefined;
    const sizes = constInts(s.inputs[1]) ?? attrInts(s, 'split');
    if (sizes ? !(sizes.length === 2 && sizes[0] === c / 2 && sizes[1] === c / 2) : s.inputs[1] || (attrInt(s, 'num_outputs') ?? 2) !== 2) return undefined;
    return [s.outputs[0]!, s.outputs[1]!];
  };
  /** A Conv (group 1) reading `t` as its data input, with a weight it alone reads: it can take any input order. */
  const foldable = (c: OnnxNode, t: string): boolean => {
    if (c.opType !== 'Conv' || !isDefault(c) || c.inputs[0] !== t || attrInt(c, 'group', 1) !== 1 || c.inputs.slice(1).includes(t)) return false;
    const w = inits.get(c.inputs[1] ?? '');
    return !!w && w.dataType === 1 && (consumers.get(w.name) ?? []).length === 1 && !permutedWeights.has(w.name);
  };

  /**
   * Readers of `logical` now read `physical`, whose channel j holds logical channel order[j]: foldable convolutions take
   * permuted weights, the rest read a 1x1 permutation convolution that restores `logical` under its own name.
   */
  const absorb = (logical: string, physical: string, order: number[], at: OnnxNode, r: ShuffleRewrite, readers: OnnxNode[] = (consumers.get(logical) ?? []).map((u) => u.node)): void => {
    const c = order.length;
    const rest = readers.filter((n) => !foldable(n, logical));
    for (const n of readers.filter((x) => foldable(x, logical))) {
      const w = inits.get(n.inputs[1]!)!;
      const src = tensorToFloat32(w);
      const [o, ci] = [w.dims[0]!, w.dims[1]!];
      const inner = w.dims.slice(2).reduce((x, y) => x * y, 1);
      const dst = new Float32Array(src.length);
      for (let k = 0; k < o; k++) for (let j = 0; j < ci; j++) dst.set(src.subarray((k * ci + order[j]!) * inner, (k * ci + order[j]! + 1) * inner), (k * ci + j) * inner);
      replacedInits.set(w.name, makeTensor(w.name, dst, w.dims));
      permutedWeights.add(w.name);
      const base = rewired.get(n) ?? n;
      rewired.set(n, { ...base, inputs: [physical, ...base.inputs.slice(1)] });
      r.folded.push(n.name);
    }
    if (rest.length === 0 && !outputs.has(logical)) return;
    // output channel k (logical) = input channel j where order[j] = k
    const wp = new Float32Array(c * c);
    for (let j = 0; j < c; j++) wp[order[j]! * c + j] = 1;
    const wName = names.next(`${logical}_permutation`);
    newInits.push(makeTensor(wName, wp, [c, c, 1, 1]));
    const conv = makeNode('Conv', [physical, wName], [logical], { name: names.next(`${logical}_permute`), attributes: [attr.ints('kernel_shape', [1, 1])] });
    before.get(at)!.push(conv);
    r.permutations.push(conv.name);
  };

  for (const t of g.nodes) {
    if (t.opType !== 'Transpose' || !isDefault(t) || (attrInts(t, 'perm') ?? []).join() !== '0,2,1,3,4') continue;
    const r1 = producers.get(t.inputs[0]!)?.node;
    const r2 = only(t.outputs[0]!);
    if (!r1 || !r2 || r1.opType !== 'Reshape' || r2.opType !== 'Reshape' || only(r1.outputs[0]!) !== t) continue;
    const z = r1.inputs[0]!;
    const cat = producers.get(z)?.node;
    const s1 = constInts(r1.inputs[1]);
    const s2 = constInts(r2.inputs[1]);
    if (!cat || cat.opType !== 'Concat' || !isDefault(cat) || cat.inputs.length !== 2 || attrInt(cat, 'axis', 0) !== 1 || !s1 || !s2) continue;
    const [a, b] = cat.inputs as [string, string];
    const h = channelsOf(a);
    if (h === undefined || channelsOf(b) !== h || h % 2 !== 0 || a === b) continue;
    if (s1.length !== 5 || s1[1] !== 2 || s1[2] !== h || s2.length !== 4 || s2[1] !== 2 * h) continue;
    const y = r2.outputs[0]!;
    if (outputs.has(y)) continue;
    const r: ShuffleRewrite = { node: t.name, channels: 2 * h, splits: 0, folded: [], permutations: [] };
    removed.add(r1).add(t).add(r2);
    before.set(r2, []);
    const emit = (n: OnnxNode): void => void before.get(r2)!.push(n);
    const uses = (consumers.get(y) ?? []).map((u) => u.node);
    const splitUses = uses.map((s) => [s, halves(s, y, 2 * h)] as const).filter((e): e is readonly [OnnxNode, [string, string]] => e[1] !== undefined);
    if (splitUses.length > 0) {
      const q = h / 2;
      const sizes = names.next(`split_${q}_${q}`);
      newInits.push(makeInt64Tensor(sizes, [q, q]));
      const parts = (x: string): [string, string] => {
        const p: [string, string] = [names.next(`${x}_first`), names.next(`${x}_second`)];
        emit(makeNode('Split', [x, sizes], p, { name: names.next(`${x}_halves`), attributes: [attr.int('axis', 1)] }));
        return p;
      };
      const [a1, a2] = parts(a);
      const [b1, b2] = parts(b);
      // each half: a's quarter then b's; logical channel 2i is a's i-th, 2i+1 is b's i-th
      const order = Array.from({ length: h }, (_, j) => (j < q ? 2 * j : 2 * (j - q) + 1));
      for (const [s, [o1, o2]] of splitUses) {
        removed.add(s);
        const p1 = names.next(`${o1}_reordered`);
        const p2 = names.next(`${o2}_reordered`);
        emit(makeNode('Concat', [a1, b1], [p1], { name: names.next(`${p1}_concat`), attributes: [attr.int('axis', 1)] }));
        emit(makeNode('Concat', [a2, b2], [p2], { name: names.next(`${p2}_concat`), attributes: [attr.int('axis', 1)] }));
        absorb(o1, p1, order, r2, r);
        absorb(o2, p2, order, r2, r);
        r.splits++;
      }
    }
    if (uses.some((n) => !splitUses.some(([s]) => s === n))) {
      // the rest read Concat(a, b): channel j < h is logical 2j, channel h + i is logical 2i + 1
      const order = Array.from({ length: 2 * h }, (_, j) => (j < h ? 2 * j : 2 * (j - h) + 1));
      absorb(y, z, order, r2, r, uses.filter((n) => !splitUses.some(([s]) => s === n)));
    } else if ((consumers.get(z) ?? []).length === 1 && !outputs.has(z)) {
      removed.add(cat);
    }
    rewrites.push(r);
  }
  if (rewrites.length === 0) return { model, rewrites };
  const nodes: OnnxNode[] = [];
  for (const n of g.nodes) {
    nodes.push(...(before.get(n) ?? []));
    if (!removed.has(n)) nodes.push(rewired.get(n) ?? n);
  }
  // The shapes and split sizes only the removed nodes read go with them (ONNX Runtime warns of unused initializers).
  const initializers = initializersStillRead(g, nodes, [...removed].flatMap((n) => n.inputs)).map((t) => replacedInits.get(t.name) ?? t);
  return { model: withGraph(model, { nodes, initializers: [...initializers, ...newInits] }), rewrites };
}
