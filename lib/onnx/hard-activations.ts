/**
 * HardSigmoid and HardSwish rewritten into ops that have int8 kernels in ONNX Runtime (exact in real arithmetic; a
 * float32 rounding apart). ORT has no QLinear kernel for either, so a quantized MobileNetV3 ran each of them in float
 * between a DequantizeLinear and a QuantizeLinear (measured: the int8 model slower than FP32). With alpha > 0:
 *
 *   HardSigmoid(x) = clip(alpha x + beta, 0, 1) = alpha * Clip(x + beta/alpha, 0, 1/alpha)
 *   HardSwish(x)   = x * HardSigmoid(x)            (alpha 1/6, beta 1/2)
 *
 * Add -> QLinearAdd; Clip(0, 1/alpha) is absorbed into the QuantizeLinear range (as Relu6 is); the Mul by the positive
 * constant alpha is folded into the DequantizeLinear scale (lib/onnx/qdq.ts); x * HardSigmoid(x) -> QLinearMul.
 * A HardSigmoid that is the only reader of a Conv's output (a squeeze-excitation gate) has no Add: beta/alpha goes
 * into that Conv's bias, so the gate costs no op at all on int8 (the Clip is the Conv's output range). HardSwish
 * reads x twice (x and x + 3), so its Add stays.
 * Pure: returns a new model and the rewritten nodes.
 */
import { attrFloat, consumerMap, findInitializer, initializersStillRead, isDefaultDomain as isDefault, makeNode, NameGenerator, producerMap, soleReader } from './graph.js';
import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from './model.js';
import { planQdq, type QdqOptions } from './qdq.js';
import { makeTensor, tensorToFloat32 } from './tensor.js';

export interface HardActivationRewrite {
  node: string;
  opType: 'HardSigmoid' | 'HardSwish';
  /** The first op of the rewrite, the Add (or the Clip when the Add went into a bias): its int8-ness decides whether the rewrite pays. */
  first: string;
  /** The Conv whose bias took beta/alpha in place of the Add. */
  biasOf?: string;
}

/**
 * The Conv producing `x` when the HardSigmoid `hsig` is its output's only reader and its bias (if any) is a float32
 * initializer of one value per output channel: beta/alpha can go into that bias.
 */
function biasTarget(model: OnnxModel, hsig: OnnxNode, producers: ReturnType<typeof producerMap>, consumers: ReturnType<typeof consumerMap>, outputs: ReadonlySet<string>): OnnxNode | undefined {
  const x = hsig.inputs[0]!;
  const conv = producers.get(x)?.node;
  if (!conv || conv.opType !== 'Conv' || !isDefault(conv) || soleReader(consumers, outputs, x) !== hsig) return undefined;
  const w = findInitializer(model.graph, conv.inputs[1] ?? '');
  if (!w || w.dims.length < 3) return undefined;
  const b = conv.inputs[2] ? findInitializer(model.graph, conv.inputs[2]) : undefined;
  if (conv.inputs[2] && !(b && b.dataType === DataType.FLOAT && b.dims.length === 1 && b.dims[0] === w.dims[0])) return undefined;
  return conv;
}

/** Rewrite every HardSigmoid (alpha > 0) and HardSwish not named in `keep` into Add, Clip and Mul. */
export function decomposeHardActivations(model: OnnxModel, keep: ReadonlySet<string> = new Set()): { model: OnnxModel; rewrites: HardActivationRewrite[] } {
  const g = model.graph;
  const names = new NameGenerator(g);
  const inits: OnnxTensor[] = [];
  const constants = new Map<number, string>();
  const constant = (v: number): string => {
    let name = constants.get(v);
    if (!name) {
      name = names.next(`hard_activation_const_${v.toPrecision(6)}`);
      constants.set(v, name);
      inits.push(makeTensor(name, new Float32Array([v]), []));
    }
    return name;
  };
  const rewrites: HardActivationRewrite[] = [];
  const alphaBeta = (n: OnnxNode): [number, number] => (n.opType === 'HardSwish' ? [1 / 6, 0.5] : [attrFloat(n, 'alpha', 0.2), attrFloat(n, 'beta', 0.5)]);
  const rewritten = (n: OnnxNode, index: number): boolean =>
    isDefault(n) && (n.opType === 'HardSwish' || n.opType === 'HardSigmoid') && !keep.has(n.name || `${n.opType}#${index}`) && alphaBeta(n)[0] > 0;
  // Convs whose bias takes a gate's beta/alpha: the new Conv node, by the old one.
  const producers = producerMap(g);
  const consumers = consumerMap(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const biased = new Map<OnnxNode, OnnxNode>();
  for (const [index, n] of g.nodes.entries()) {
    if (n.opType !== 'HardSigmoid' || !rewritten(n, index)) continue;
    const conv = biasTarget(model, n, producers, consumers, outputs);
    if (!conv) continue;
    const [alpha, beta] = alphaBeta(n);
    const channels = findInitializer(g, conv.inputs[1]!)!.dims[0]!;
    const old = conv.inputs[2] ? tensorToFloat32(findInitializer(g, conv.inputs[2])!) : new Float32Array(channels);
    const bias = names.next(`${conv.name || 'conv'}.bias_with_${n.name || 'hardsigmoid'}_offset`);
    inits.push(makeTensor(bias, old.map((v) => v + beta / alpha), [channels]));
    biased.set(conv, { ...conv, inputs: [conv.inputs[0]!, conv.inputs[1]!, bias] });
  }
  const nodes: OnnxNode[] = [];
  for (const [index, n] of g.nodes.entries()) {
    if (!rewritten(n, index)) {
      nodes.push(biased.get(n) ?? n);
      continue;
    }
    const label = n.name || `${n.opType}#${index}`;
    const hardSwish = n.opType === 'HardSwish';
    const [alpha, beta] = alphaBeta(n);
    const x = n.inputs[0]!;
    const y = n.outputs[0]!;
    const base = n.name || `${n.opType}_${index}`;
    const producer = producers.get(x)?.node;
    const conv = !hardSwish && producer && biased.has(producer) ? producer : undefined;
    const shifted = conv ? x : names.next(`${base}_shifted`);
    const clipped = names.next(`${base}_clipped`);
    const gate = hardSwish ? names.next(`${base}_gate`) : y;
    const add = conv ? undefined : names.next(`${base}.add`);
    const clip = names.next(`${base}.clip`);
    if (add) nodes.push(makeNode('Add', [x, constant(beta / alpha)], [shifted], { name: add }));
    nodes.push(
      makeNode('Clip', [shifted, constant(0), constant(1 / alpha)], [clipped], { name: clip }),
      makeNode('Mul', [clipped, constant(alpha)], [gate], { name: names.next(`${base}.alpha`) }),
    );
    if (hardSwish) nodes.push(makeNode('Mul', [x, gate], [y], { name: names.next(`${base}.mul`) }));
    rewrites.push({ node: label, opType: hardSwish ? 'HardSwish' : 'HardSigmoid', first: add ?? clip, ...(conv ? { biasOf: conv.name || conv.outputs[0]! } : {}) });
  }
  if (rewrites.length === 0) return { model, rewrites };
  // A bias replaced above and read by nothing else goes.
  const initializers = initializersStillRead(g, nodes, [...biased.keys()].map((c) => c.inputs[2] ?? ''));
  return { model: { ...model, graph: { ...g, nodes, initializers: [...initializers, ...inits] } }, rewrites };
}

/**
 * decomposeHardActivations where it pays for an ONNX Runtime int8 placement: an activation whose input stays float
 * (e.g. after a first convolution on RGB kept float) keeps its single op, which ORT fuses into the float Conv, instead
 * of four float ops.
 */
export function decomposeHardActivationsForInt8(model: OnnxModel, qdq: QdqOptions = {}): { model: OnnxModel; rewrites: HardActivationRewrite[] } {
  const first = decomposeHardActivations(model);
  if (first.rewrites.length === 0) return first;
  const float = new Set(planQdq(first.model, qdq).report.float.map((e) => e.node));
  const keep = new Set(first.rewrites.filter((r) => float.has(r.first)).map((r) => r.node));
  return keep.size === 0 ? first : decomposeHardActivations(model, keep);
}
