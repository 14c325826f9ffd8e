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
 * Pure: returns a new model and the rewritten nodes.
 */
import { attrFloat, isDefaultDomain as isDefault, makeNode, NameGenerator } from './graph.js';
import type { OnnxModel, OnnxNode, OnnxTensor } from './model.js';
import { planQdq, type QdqOptions } from './qdq.js';
import { makeTensor } from './tensor.js';

export interface HardActivationRewrite {
  node: string;
  opType: 'HardSigmoid' | 'HardSwish';
  /** The Add it begins with (its int8-ness decides whether the rewrite pays). */
  add: string;
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
  const nodes: OnnxNode[] = [];
  for (const [index, n] of g.nodes.entries()) {
    const label = n.name || `${n.opType}#${index}`;
    const hardSwish = n.opType === 'HardSwish';
    if (!isDefault(n) || (!hardSwish && n.opType !== 'HardSigmoid') || keep.has(label)) {
      nodes.push(n);
      continue;
    }
    const alpha = hardSwish ? 1 / 6 : attrFloat(n, 'alpha', 0.2);
    const beta = hardSwish ? 0.5 : attrFloat(n, 'beta', 0.5);
    if (!(alpha > 0)) {
      nodes.push(n);
      continue;
    }
    const x = n.inputs[0]!;
    const y = n.outputs[0]!;
    const base = n.name || `${n.opType}_${index}`;
    const shifted = names.next(`${base}_shifted`);
    const clipped = names.next(`${base}_clipped`);
    const gate = hardSwish ? names.next(`${base}_gate`) : y;
    const add = names.next(`${base}.add`);
    nodes.push(
      makeNode('Add', [x, constant(beta / alpha)], [shifted], { name: add }),
      makeNode('Clip', [shifted, constant(0), constant(1 / alpha)], [clipped], { name: names.next(`${base}.clip`) }),
      makeNode('Mul', [clipped, constant(alpha)], [gate], { name: names.next(`${base}.alpha`) }),
    );
    if (hardSwish) nodes.push(makeNode('Mul', [x, gate], [y], { name: names.next(`${base}.mul`) }));
    rewrites.push({ node: label, opType: hardSwish ? 'HardSwish' : 'HardSigmoid', add });
  }
  if (rewrites.length === 0) return { model, rewrites };
  return { model: { ...model, graph: { ...g, nodes, initializers: [...g.initializers, ...inits] } }, rewrites };
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
  const keep = new Set(first.rewrites.filter((r) => float.has(r.add)).map((r) => r.node));
  return keep.size === 0 ? first : decomposeHardActivations(model, keep);
}
