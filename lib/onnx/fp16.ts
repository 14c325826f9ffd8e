/**
 * FP16 conversion, a pure function model -> { model, report }. Every tensor's element type is inferred first
 * (elem-types.ts), so the converter knows which tensors are float32 and places Casts only on those:
 * - a node computes in float16 unless it must stay float32 (see keptReason): then its float inputs are cast back to
 *   float32 and its outputs stay float32;
 * - per op and input, some float inputs stay float32 even when the node computes in float16 (Resize scales/roi...);
 * - float32 initializers become float16 where float16 nodes read them (a float32 copy stays where others do);
 * - Constant / ConstantOfShape / Cast / dtype attributes that make float32 make float16 instead (ConstantOfShape
 *   without a value gets a float16 zero);
 * - nodes with subgraphs (If, Loop, Scan) stay float32 with their bodies, so a body never meets a float16 tensor:
 *   tensors a body reads from the enclosing graph are kept float32 under their own name;
 * - the model's float32 inputs and outputs stay float32, with a Cast at the boundary.
 * `keepFp32` (op types or node names) adds nodes to keep; the report lists every kept node and why.
 */
import { float32ToFloat16Bits } from '../data/float16.js';
import { hasSubgraph, inferElemTypes, outerReferences } from './elem-types.js';
import { attrString, makeNode, NameGenerator, topologicalSort } from './graph.js';
import { AttributeType, DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './model.js';
import { makeTensor, tensorToFloat32 } from './tensor.js';

export interface Fp16Options {
  keepFp32?: readonly string[];
}

export interface Fp16Report {
  /** Nodes computing in float16. */
  fp16Nodes: number;
  /** Nodes kept in float32, by name or op#index, with the reason. */
  keptFp32: { node: string; opType: string; reason: string }[];
  /** Casts inserted at the model boundary and around kept nodes. */
  casts: number;
  convertedInitializers: number;
}

/** Inputs (op type -> input indices) that stay float32 in a float16 node: ONNX types them float32 only. */
const FLOAT32_ONLY_INPUTS: Record<string, number[]> = { Resize: [1, 2], Upsample: [1] };
/** Outputs that stay float32 in a float16 node (LayerNormalization's mean / inverse std dev follow stash_type). */
const FLOAT32_ONLY_OUTPUTS: Record<string, number[]> = { LayerNormalization: [1, 2] };

/**
 * ai.onnx ops kept float32, and why. ONNX Runtime's CPU provider has no float16 kernel for them, or ONNX's
 * type constraints have no float16 for the float input (scales of quantization ops, BitCast's bit width).
 */
const KEEP_FP32: Record<string, string> = {
  NonMaxSuppression: 'no float16 kernel', MeanVarianceNormalization: 'no float16 kernel', DynamicQuantizeLinear: 'float32 only in ONNX', QuantizeLinear: 'float32 scale kernel',
  DequantizeLinear: 'float32 scale kernel', QLinearConv: 'float32 scales', QLinearMatMul: 'float32 scales', QLinearAdd: 'float32 scales',
  BitCast: 'bit width would change', RandomNormal: 'no float16 kernel', RandomUniform: 'no float16 kernel', RandomNormalLike: 'no float16 kernel',
  RandomUniformLike: 'no float16 kernel', Bernoulli: 'no float16 kernel', Multinomial: 'no float16 kernel', TfIdfVectorizer: 'float32 only in ONNX',
  HannWindow: 'no float16 kernel', HammingWindow: 'no float16 kernel', BlackmanWindow: 'no float16 kernel', MelWeightMatrix: 'no float16 kernel',
  Momentum: 'training op', Adam: 'training op', Adagrad: 'training op',
};

/** Why `node` must stay float32, or undefined when it may compute in float16. */
function keptReason(node: OnnxNode, keep: ReadonlySet<string>): string | undefined {
  if (keep.has(node.opType) || (node.name !== '' && keep.has(node.name))) return 'keepFp32';
  if (node.domain !== '' && node.domain !== 'ai.onnx') return `domain ${node.domain}`;
  if (hasSubgraph(node)) return 'has a subgraph (kept float32 with its body)';
  if (KEEP_FP32[node.opType]) return KEEP_FP32[node.opType];
  if ((node.opType === 'ScatterND' || node.opType === 'ScatterElements') && (attrString(node, 'reduction') ?? 'none') !== 'none')
    return 'no float16 kernel with reduction';
  return undefined;
}

export function toFloat16Array(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

function tensorToFp16(t: OnnxTensor): OnnxTensor {
  return { ...makeTensor(t.name, toFloat16Array(tensorToFloat32(t)), t.dims), ...(t.docString ? { docString: t.docString } : {}) };
}

/** dtype-like attributes that name the output type, per op. */
const TYPE_ATTRS: Record<string, string> = { Cast: 'to', EyeLike: 'dtype' };

/** A float16 node's attributes: float32 tensors and output types become float16. */
function attributesToFp16(node: OnnxNode): OnnxAttribute[] {
  const attrs = node.attributes.map((a): OnnxAttribute => {
    if (TYPE_ATTRS[node.opType] === a.name && a.i === DataType.FLOAT) return { ...a, i: DataType.FLOAT16 };
    if (a.type === AttributeType.TENSOR && a.t && a.t.dataType === DataType.FLOAT) return { ...a, t: tensorToFp16(a.t) };
    if (node.opType === 'Constant' && (a.name === 'value_float' || a.name === 'value_floats')) {
      const values = a.name === 'value_float' ? [a.f ?? 0] : (a.floats ?? []);
      const dims = a.name === 'value_float' ? [] : [values.length];
      return { name: 'value', type: AttributeType.TENSOR, t: makeTensor('', toFloat16Array(Float32Array.from(values)), dims) };
    }
    return a;
  });
  // ConstantOfShape without a value makes float32 zeros: give it a float16 zero.
  if (node.opType === 'ConstantOfShape' && !attrs.some((a) => a.name === 'value'))
    attrs.push({ name: 'value', type: AttributeType.TENSOR, t: makeTensor('', Uint16Array.of(0), [1]) });
  return attrs;
}

export function convertToFp16(model: OnnxModel, options: Fp16Options = {}): { model: OnnxModel; report: Fp16Report } {
  const graph = model.graph;
  const keep = new Set(options.keepFp32 ?? []);
  const names = new NameGenerator(graph);
  const types = inferElemTypes(graph);
  const isFloat = (name: string) => name !== '' && types.get(name) === DataType.FLOAT;
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const nodes = topologicalSort(graph);
  const reasons = new Map<OnnxNode, string>();
  const half = new Set<OnnxNode>();
  for (const n of nodes) {
    const touchesFloat = n.inputs.some(isFloat) || n.outputs.some(isFloat);
    const reason = keptReason(n, keep);
    if (reason && (touchesFloat || hasSubgraph(n))) reasons.set(n, reason);
    else if (!reason && touchesFloat) half.add(n);
  }
  // Float tensors that must stay float32 under their own name: graph outputs, graph inputs that are also
  // initializers (a caller may feed them), and whatever a subgraph reads from this graph.
  const fp32Named = new Set<string>(graph.outputs.map((v) => v.name).filter(isFloat));
  for (const v of graph.inputs) if (inits.has(v.name)) fp32Named.add(v.name);
  for (const n of nodes) if (hasSubgraph(n)) for (const a of n.attributes) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) outerReferences(g, fp32Named);

  // Where each float tensor is available in the new graph, as float16 and as float32.
  const halfName = new Map<string, string>();
  const fullName = new Map<string, string>();
  for (const v of graph.inputs) if (isFloat(v.name) && !inits.has(v.name)) fullName.set(v.name, v.name);

  // Initializers: float16 where float16 nodes read them, float32 (original name) where anything else does.
  const only32 = (n: OnnxNode, i: number) => !half.has(n) || (FLOAT32_ONLY_INPUTS[n.opType] ?? []).includes(i);
  const needHalf = new Set<string>();
  const needFull = new Set<string>([...fp32Named].filter((x) => inits.has(x)));
  for (const n of nodes) n.inputs.forEach((x, i) => inits.has(x) && isFloat(x) && (only32(n, i) ? needFull : needHalf).add(x));
  const initializers: OnnxTensor[] = [];
  let converted = 0;
  for (const t of graph.initializers) {
    if (!isFloat(t.name) || !needHalf.has(t.name)) {
      initializers.push(t);
      if (isFloat(t.name)) fullName.set(t.name, t.name);
      continue;
    }
    if (needFull.has(t.name)) {
      initializers.push(t);
      fullName.set(t.name, t.name);
    }
    const name = needFull.has(t.name) ? names.next(`${t.name}_fp16`) : t.name;
    initializers.push({ ...tensorToFp16(t), name });
    halfName.set(t.name, name);
    converted++;
  }

  const out: OnnxNode[] = [];
  let casts = 0;
  const cast = (from: string, to: string, type: number): void => {
    out.push(makeNode('Cast', [from], [to], { name: names.next(`${to}_Cast`), attributes: { to: type } }));
    casts++;
  };
  // The float16 / float32 form of a float tensor, cast once from the other form where first needed.
  const form = (x: string, type: number): string => {
    const [mine, other, suffix] = type === DataType.FLOAT16 ? [halfName, fullName, 'fp16'] : [fullName, halfName, 'fp32'];
    let n = mine.get(x);
    if (n === undefined) {
      n = names.next(`${x}_${suffix}`);
      cast(other.get(x) ?? x, n, type);
      mine.set(x, n);
    }
    return n;
  };
  const asHalf = (x: string) => form(x, DataType.FLOAT16);
  const asFull = (x: string) => form(x, DataType.FLOAT);

  const keptReport: Fp16Report['keptFp32'] = [];
  for (const node of nodes) {
    const index = graph.nodes.indexOf(node);
    if (!half.has(node)) {
      const reason = reasons.get(node);
      if (reason) keptReport.push({ node: node.name || `${node.opType}#${index}`, opType: node.opType, reason });
      const inputs = node.inputs.map((x) => (isFloat(x) ? asFull(x) : x));
      out.push({ ...node, inputs });
      for (const o of node.outputs) if (isFloat(o)) fullName.set(o, o);
      continue;
    }
    const inputs = node.inputs.map((x, i) => (!isFloat(x) ? x : only32(node, i) ? asFull(x) : asHalf(x)));
    const stays32 = FLOAT32_ONLY_OUTPUTS[node.opType] ?? [];
    const renamed: [string, string][] = [];
    const outputs = node.outputs.map((o, i) => {
      if (!isFloat(o)) return o;
      if (stays32.includes(i)) {
        fullName.set(o, o);
        return o;
      }
      if (!fp32Named.has(o)) {
        halfName.set(o, o);
        return o;
      }
      const h = names.next(`${o}_fp16`);
      halfName.set(o, h);
      renamed.push([h, o]);
      return h;
    });
    out.push({ ...node, inputs, outputs, attributes: attributesToFp16(node) });
    for (const [h, o] of renamed) {
      cast(h, o, DataType.FLOAT);
      fullName.set(o, o);
    }
  }
  // Float value_info would now be wrong for tensors that became float16; it is optional, so float entries go.
  const valueInfo = graph.valueInfo.filter((v) => v.type?.tensorType?.elemType !== DataType.FLOAT);
  return {
    model: { ...model, graph: { ...graph, nodes: out, initializers, valueInfo } },
    report: { fp16Nodes: half.size, keptFp32: keptReport, casts, convertedInitializers: converted },
  };
}
