/**
 * Element-type inference for every tensor of a graph, from ONNX's operator type constraints: which outputs take
 * the type of which input, which are fixed (indices are int64, comparisons bool) and which an attribute chooses.
 * 0 where nothing is known (non-tensor values, ops outside the table without a declared type).
 */
import { attrInt } from './graph.js';
import { AttributeType, DataType, type OnnxGraph, type OnnxNode, type OnnxType } from './model.js';

const { FLOAT, INT64, INT32, BOOL, UINT8, STRING } = DataType;

/** Ops whose every output is of this fixed type. */
const FIXED: Record<string, number> = {
  Shape: INT64, Size: INT64, ArgMax: INT64, ArgMin: INT64, NonZero: INT64, NonMaxSuppression: INT64,
  Equal: BOOL, Less: BOOL, Greater: BOOL, LessOrEqual: BOOL, GreaterOrEqual: BOOL, Not: BOOL, And: BOOL, Or: BOOL, Xor: BOOL,
  IsNaN: BOOL, IsInf: BOOL, RegexFullMatch: BOOL, MatMulInteger: INT32, ConvInteger: INT32, StringConcat: STRING,
  StringNormalizer: STRING, TfIdfVectorizer: FLOAT,
};

/** Ops whose outputs (by index) have a fixed type; the other outputs take input 0's type. */
const FIXED_OUTPUTS: Record<string, Record<number, number>> = {
  TopK: { 1: INT64 }, MaxPool: { 1: INT64 }, Unique: { 1: INT64, 2: INT64, 3: INT64 }, Dropout: { 1: BOOL },
  DynamicQuantizeLinear: { 0: UINT8, 1: FLOAT, 2: UINT8 }, StringSplit: { 0: STRING, 1: INT64 },
};

/** Ops whose outputs take the type of input k (default: input 0). */
const FROM_INPUT: Record<string, number> = { Where: 1, CastLike: 1, OneHot: 2, QLinearConv: 7, QLinearMatMul: 7 };

/** Ops with a dtype-like attribute and its default (undefined: the type of input 0). */
const DTYPE_ATTR: Record<string, [string, number | undefined]> = {
  Cast: ['to', undefined], BitCast: ['to', undefined], EyeLike: ['dtype', undefined], RandomNormalLike: ['dtype', undefined],
  RandomUniformLike: ['dtype', undefined], Bernoulli: ['dtype', undefined], RandomNormal: ['dtype', FLOAT], RandomUniform: ['dtype', FLOAT],
  Multinomial: ['dtype', INT32], HannWindow: ['output_datatype', FLOAT], HammingWindow: ['output_datatype', FLOAT],
  BlackmanWindow: ['output_datatype', FLOAT], MelWeightMatrix: ['output_datatype', FLOAT],
};

function typeOf(t: OnnxType | undefined): number {
  return t?.tensorType?.elemType ?? 0;
}

function constantType(node: OnnxNode): number {
  const a = node.attributes[0];
  if (!a) return 0;
  if (a.name === 'value' || a.name === 'sparse_value') return a.t?.dataType ?? a.sparseTensor?.values?.dataType ?? 0;
  if (a.name === 'value_float' || a.name === 'value_floats') return FLOAT;
  if (a.name === 'value_int' || a.name === 'value_ints') return INT64;
  if (a.name === 'value_string' || a.name === 'value_strings') return STRING;
  return 0;
}

/** The element type of each output of `node`, given the types of its inputs (0 = unknown). */
export function nodeOutputTypes(node: OnnxNode, inputType: (i: number) => number, scope?: ReadonlyMap<string, number>): number[] {
  const op = node.domain === '' || node.domain === 'ai.onnx' ? node.opType : undefined;
  const n = node.outputs.length;
  const all = (t: number) => new Array<number>(n).fill(t);
  if (op === undefined) return all(0);
  if (op in FIXED) return all(FIXED[op]!);
  if (op === 'Constant') return all(constantType(node));
  if (op === 'ConstantOfShape') return all(node.attributes.find((a) => a.name === 'value')?.t?.dataType ?? FLOAT);
  if (op === 'QuantizeLinear') return all(attrInt(node, 'output_dtype') || inputType(2) || UINT8);
  if (op === 'DequantizeLinear') return all(attrInt(node, 'output_dtype') || inputType(1));
  if (op === 'LayerNormalization') return node.outputs.map((_, i) => (i === 0 ? inputType(0) : attrInt(node, 'stash_type', FLOAT)));
  if (op === 'If' || op === 'Loop' || op === 'Scan') {
    // A body output's declared type, else the type inferred inside the body (function expansions declare none).
    // Loop body outputs: cond, carried..., scan outputs...; Scan's: carried..., scan outputs... (the node's order).
    const g = node.attributes.find((a) => a.name === (op === 'If' ? 'then_branch' : 'body'))?.g;
    const skip = op === 'Loop' ? 1 : 0;
    let inner: Map<string, number> | undefined;
    return node.outputs.map((_, i) => {
      const v = g?.outputs[i + skip];
      if (!v) return 0;
      return typeOf(v.type) || (inner ??= inferElemTypes(g!, scope)).get(v.name) || 0;
    });
  }
  if (op in DTYPE_ATTR) {
    const [name, fallback] = DTYPE_ATTR[op]!;
    return all(attrInt(node, name) ?? fallback ?? inputType(0));
  }
  if (op in FIXED_OUTPUTS) return node.outputs.map((_, i) => FIXED_OUTPUTS[op]![i] ?? inputType(0));
  if (op.startsWith('Sequence') || op.startsWith('Optional') || op === 'SplitToSequence' || op === 'ConcatFromSequence') return all(0);
  return all(inputType(FROM_INPUT[op] ?? 0));
}

/**
 * The element type of every tensor in `graph` (initializers, inputs, node outputs, recursively not into subgraphs).
 * Declared types (value_info, graph outputs) fill what the rules leave unknown; `outer` gives the enclosing scope's.
 */
export function inferElemTypes(graph: OnnxGraph, outer?: ReadonlyMap<string, number>): Map<string, number> {
  const types = new Map<string, number>(outer ?? []);
  const declared = new Map<string, number>();
  for (const v of [...graph.valueInfo, ...graph.outputs]) if (typeOf(v.type)) declared.set(v.name, typeOf(v.type));
  for (const v of graph.inputs) types.set(v.name, typeOf(v.type));
  for (const t of graph.initializers) types.set(t.name, t.dataType);
  for (const node of graph.nodes) {
    const out = nodeOutputTypes(node, (i) => (node.inputs[i] ? (types.get(node.inputs[i]!) ?? 0) : 0), types);
    node.outputs.forEach((o, i) => o && types.set(o, out[i] || declared.get(o) || 0));
  }
  return types;
}

/** True when the node holds a subgraph (If, Loop, Scan, or a custom op with a graph attribute). */
export function hasSubgraph(node: OnnxNode): boolean {
  return node.attributes.some((a) => a.type === AttributeType.GRAPH || a.type === AttributeType.GRAPHS || a.g !== undefined || (a.graphs?.length ?? 0) > 0);
}

/** Names a subgraph (and its own subgraphs) reads from enclosing scopes. */
export function outerReferences(graph: OnnxGraph, into: Set<string> = new Set()): Set<string> {
  const local = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.map((t) => t.name)]);
  for (const n of graph.nodes) for (const o of n.outputs) local.add(o);
  for (const n of graph.nodes) {
    for (const i of n.inputs) if (i && !local.has(i)) into.add(i);
    for (const a of n.attributes) {
      for (const g of [a.g, ...(a.graphs ?? [])]) {
        if (!g) continue;
        for (const name of outerReferences(g)) if (!local.has(name)) into.add(name);
      }
    }
  }
  return into;
}
