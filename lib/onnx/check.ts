/**
 * Model checker and shape inference for the operators this project uses. Dims are numbers where
 * known, the symbolic name where the input says so (e.g. 'N'), and null where nothing is known.
 */
import { TrtnError } from '../errors.js';
import { attrInt, attrInts, attrString, describeNode, nodeLabel } from './graph.js';
import { DataType, opsetVersion, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type ShapeDim } from './model.js';
import { tensorToArray } from './tensor.js';

export interface TensorShape {
  /** ONNX TensorProto.DataType, 0 where unknown. */
  elemType: number;
  /** undefined: rank unknown. */
  shape?: ShapeDim[];
}

export interface InferShapesResult {
  shapes: Map<string, TensorShape>;
  /** Op types met that inference does not know (their outputs are left out of `shapes`). */
  unknownOps: string[];
}

interface Ctx {
  node: OnnxNode;
  index: number;
}

function fail(ctx: Ctx, message: string, extra: Record<string, unknown> = {}): never {
  throw new TrtnError('ERR_ONNX_PARSE', `${describeNode(ctx.node, ctx.index)}: ${message}`, {
    node: nodeLabel(ctx.node, ctx.index),
    opType: ctx.node.opType,
    index: ctx.index,
    ...extra,
  });
}

const UNARY = new Set([
  'Relu', 'Clip', 'Identity', 'Dropout', 'Softmax', 'LogSoftmax', 'Sigmoid', 'Tanh', 'LeakyRelu', 'HardSigmoid',
  'HardSwish', 'Neg', 'Abs', 'Sqrt', 'Exp', 'Log', 'Erf', 'BatchNormalization', 'LRN', 'Elu', 'Selu', 'PRelu',
]);
const BROADCAST = new Set(['Add', 'Mul', 'Sub', 'Div', 'Pow', 'Max', 'Min', 'Sum']);

/** Multidirectional (numpy) broadcasting of two shapes; undefined when incompatible. */
export function broadcastShapes(a: ShapeDim[], b: ShapeDim[]): ShapeDim[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: ShapeDim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return undefined;
      out.push(x);
    } else if (x === y) out.push(x);
    else out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : null);
  }
  return out;
}

const known = (d: ShapeDim | undefined): d is number => typeof d === 'number';

function product(dims: ShapeDim[]): ShapeDim {
  let n = 1;
  let symbol: string | null = null;
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else if (typeof d === 'string' && symbol === null) symbol = d;
    else return null;
  }
  if (symbol !== null) return n === 1 ? symbol : null;
  return n;
}

/** A product of dims as a number times symbols, or null where a dim is unknown. */
function symbolicProduct(dims: ShapeDim[]): { n: number; symbols: string[] } | null {
  let n = 1;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else if (typeof d === 'string') symbols.push(d);
    else return null;
  }
  return { n, symbols: symbols.sort() };
}

/** total / part as a dim: a number, a lone symbol, null when unknowable, undefined when impossible. */
function divideProducts(total: { n: number; symbols: string[] }, part: { n: number; symbols: string[] }): ShapeDim | undefined {
  const left = [...total.symbols];
  for (const s of part.symbols) {
    const i = left.indexOf(s);
    if (i < 0) return null;
    left.splice(i, 1);
  }
  if (part.n === 0) return null;
  if (total.n % part.n !== 0) return left.length ? null : undefined;
  const n = total.n / part.n;
  if (left.length === 0) return n;
  return left.length === 1 && n === 1 ? left[0]! : null;
}

/** Output spatial sizes of a sliding window (Conv, pools). */
function windowOutput(ctx: Ctx, spatial: ShapeDim[], kernel: number[], strides: number[], dilations: number[], pads: number[], autoPad: string, ceil: boolean): ShapeDim[] {
  const r = spatial.length;
  return spatial.map((size, i) => {
    if (!known(size)) return size === null ? null : null;
    const k = kernel[i]!;
    const s = strides[i] ?? 1;
    const d = dilations[i] ?? 1;
    if (s < 1 || d < 1 || k < 1) fail(ctx, `kernel ${k}, stride ${s}, dilation ${d} must all be >= 1`);
    const eff = d * (k - 1) + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / s);
    const total = autoPad === 'VALID' ? size - eff : size + (pads[i] ?? 0) + (pads[i + r] ?? 0) - eff;
    if (total < 0) fail(ctx, `window of ${eff} does not fit spatial dim ${i} of size ${size} (pads [${pads.join(',')}])`);
    let out = (ceil ? Math.ceil(total / s) : Math.floor(total / s)) + 1;
    // ceil_mode: the last window must start inside the (left-padded) input.
    if (ceil && (out - 1) * s >= size + (pads[i] ?? 0)) out--;
    return out;
  });
}

function constantValue(tensor: OnnxTensor | undefined): number[] | undefined {
  if (!tensor) return undefined;
  try {
    return Array.from(tensorToArray(tensor) as ArrayLike<number | bigint>, Number);
  } catch {
    return undefined;
  }
}

/** Infer the shape and element type of every tensor the graph computes. Throws ERR_ONNX_PARSE naming the node. */
export function inferShapes(model: OnnxModel): InferShapesResult {
  return inferGraphShapes(model.graph, opsetVersion(model) ?? 17);
}

/** The inferred shapes, or undefined where inference fails on the graph (a rewrite that needs them then does nothing). */
export function inferredShapes(model: OnnxModel): InferShapesResult['shapes'] | undefined {
  try {
    return inferShapes(model).shapes;
  } catch {
    return undefined;
  }
}

export function inferGraphShapes(graph: OnnxGraph, opset = 17): InferShapesResult {
  const shapes = new Map<string, TensorShape>();
  const constants = new Map<string, OnnxTensor>();
  const unknownOps = new Set<string>();
  for (const t of graph.initializers) {
    shapes.set(t.name, { elemType: t.dataType, shape: [...t.dims] });
    constants.set(t.name, t);
  }
  for (const v of graph.inputs) {
    if (shapes.has(v.name)) continue;
    const tt = v.type?.tensorType;
    shapes.set(v.name, { elemType: tt?.elemType ?? 0, shape: tt?.shape ? [...tt.shape] : undefined });
  }

  graph.nodes.forEach((node, index) => {
    const ctx: Ctx = { node, index };
    const inputOf = (i: number): TensorShape | undefined => {
      const name = node.inputs[i];
      return name ? shapes.get(name) : undefined;
    };
    // undefined where the rank is unknown: the output is then unknown too (never an error).
    const rankOf = (i: number, what: string, min = 0): ShapeDim[] | undefined => {
      const s = inputOf(i)?.shape;
      if (!s) return undefined;
      if (s.length < min) fail(ctx, `${what} '${node.inputs[i]}' has rank ${s.length}, need at least ${min}`, { tensor: node.inputs[i] });
      return s;
    };
    const unknownShape = (...slots: number[]): void => {
      for (const k of slots.length ? slots : [0]) set(k, { elemType: k === 0 ? (x?.elemType ?? 0) : 0, shape: undefined });
    };
    const set = (slot: number, value: TensorShape): void => {
      const name = node.outputs[slot];
      if (name) shapes.set(name, value);
    };
    const x = inputOf(0);
    const op = node.domain === '' || node.domain === 'ai.onnx' ? node.opType : `${node.domain}:${node.opType}`;

    if (UNARY.has(op)) {
      if (op === 'Softmax' || op === 'LogSoftmax') {
        const s = x?.shape;
        const axis = attrInt(node, 'axis', opset >= 13 ? -1 : 1);
        if (s && (axis < -s.length || axis >= s.length)) fail(ctx, `axis ${axis} is out of range for rank ${s.length}`);
      }
      if (op === 'BatchNormalization' && x?.shape) {
        const c = x.shape[1];
        for (let k = 1; k <= 4; k++) {
          const p = inputOf(k)?.shape;
          if (p && (p.length !== 1 || (known(c) && known(p[0]) && p[0] !== c)))
            fail(ctx, `parameter '${node.inputs[k]}' has shape [${p.join(',')}], expected [${c}] for the ${c} channels of '${node.inputs[0]}'`, { tensor: node.inputs[k] });
        }
      }
      set(0, { elemType: x?.elemType ?? 0, shape: x?.shape ? [...x.shape] : undefined });
      if (op === 'Dropout' && node.outputs[1]) set(1, { elemType: DataType.BOOL, shape: x?.shape ? [...x.shape] : undefined });
      return;
    }
    if (BROADCAST.has(op)) {
      let shape: ShapeDim[] | undefined = inputOf(0)?.shape;
      for (let i = 1; i < node.inputs.length && shape; i++) {
        const b = inputOf(i)?.shape;
        if (!b) {
          shape = undefined;
          break;
        }
        const next = broadcastShapes(shape, b);
        if (!next) fail(ctx, `shapes [${shape.join(',')}] and [${b.join(',')}] ('${node.inputs[i]}') cannot be broadcast`, { tensor: node.inputs[i] });
        shape = next;
      }
      set(0, { elemType: x?.elemType ?? 0, shape });
      return;
    }
    switch (op) {
      case 'Constant': {
        const t = node.attributes.find((a) => a.name === 'value')?.t;
        if (t) {
          set(0, { elemType: t.dataType, shape: [...t.dims] });
          if (node.outputs[0]) constants.set(node.outputs[0], t);
        } else {
          unknownOps.add('Constant(non-tensor)');
        }
        return;
      }
      case 'Cast': {
        const to = attrInt(node, 'to');
        if (to === undefined) fail(ctx, "attribute 'to' is missing");
        set(0, { elemType: to, shape: x?.shape ? [...x.shape] : undefined });
        return;
      }
      case 'QuantizeLinear': {
        const zp = inputOf(2);
        const outType = attrInt(node, 'output_dtype') || zp?.elemType || DataType.UINT8;
        checkQdqParams(ctx, x?.shape, inputOf(1)?.shape, zp?.shape, attrInt(node, 'axis', 1), attrInt(node, 'block_size', 0));
        set(0, { elemType: outType, shape: x?.shape ? [...x.shape] : undefined });
        return;
      }
      case 'DequantizeLinear': {
        checkQdqParams(ctx, x?.shape, inputOf(1)?.shape, inputOf(2)?.shape, attrInt(node, 'axis', 1), attrInt(node, 'block_size', 0));
        set(0, { elemType: inputOf(1)?.elemType || DataType.FLOAT, shape: x?.shape ? [...x.shape] : undefined });
        return;
      }
      case 'Conv':
      case 'ConvTranspose': {
        const xs = rankOf(0, 'input', 3);
        const ws = rankOf(1, 'weight', 3);
        if (!xs || !ws) return unknownShape();
        if (ws.length !== xs.length) fail(ctx, `weight '${node.inputs[1]}' has rank ${ws.length}, input has rank ${xs.length}`, { tensor: node.inputs[1] });
        const group = attrInt(node, 'group', 1);
        const spatialRank = xs.length - 2;
        const kernel = attrInts(node, 'kernel_shape') ?? (ws.slice(2) as ShapeDim[]).map((d) => (known(d) ? d : NaN));
        if (kernel.some((k) => !Number.isFinite(k))) {
          set(0, { elemType: x?.elemType ?? 0, shape: undefined });
          return;
        }
        const strides = attrInts(node, 'strides') ?? new Array(spatialRank).fill(1);
        const dilations = attrInts(node, 'dilations') ?? new Array(spatialRank).fill(1);
        const pads = attrInts(node, 'pads') ?? new Array(2 * spatialRank).fill(0);
        const autoPad = attrString(node, 'auto_pad') ?? 'NOTSET';
        if (kernel.length !== spatialRank || strides.length !== spatialRank || pads.length !== 2 * spatialRank)
          fail(ctx, `kernel_shape/strides/pads do not match the ${spatialRank} spatial dims of '${node.inputs[0]}'`);
        const c = xs[1];
        const b = inputOf(2)?.shape;
        if (op === 'Conv') {
          if (known(c) && known(ws[1]) && ws[1] * group !== c)
            fail(ctx, `input '${node.inputs[0]}' has ${c} channels but weight '${node.inputs[1]}' expects ${ws[1]}x${group} (group ${group})`, { tensor: node.inputs[1] });
          if (known(ws[0]) && ws[0] % group !== 0) fail(ctx, `${ws[0]} output channels are not divisible by group ${group}`);
          if (b && (b.length !== 1 || (known(b[0]) && known(ws[0]) && b[0] !== ws[0])))
            fail(ctx, `bias '${node.inputs[2]}' has shape [${b.join(',')}], expected [${ws[0]}]`, { tensor: node.inputs[2] });
          const spatial = windowOutput(ctx, xs.slice(2), kernel, strides, dilations, pads, autoPad, false);
          set(0, { elemType: x?.elemType ?? 0, shape: [xs[0]!, ws[0]!, ...spatial] });
        } else {
          if (known(c) && known(ws[0]) && ws[0] !== c)
            fail(ctx, `input '${node.inputs[0]}' has ${c} channels but weight '${node.inputs[1]}' expects ${ws[0]}`, { tensor: node.inputs[1] });
          const m = known(ws[1]) ? ws[1] * group : null;
          const outPad = attrInts(node, 'output_padding') ?? new Array(spatialRank).fill(0);
          const explicit = attrInts(node, 'output_shape');
          const spatial = explicit
            ? explicit.slice(-spatialRank)
            : xs.slice(2).map((size, i) =>
                known(size)
                  ? autoPad.startsWith('SAME')
                    ? size * strides[i]!
                    : strides[i]! * (size - 1) + outPad[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - pads[i]! - pads[i + spatialRank]!
                  : null,
              );
          set(0, { elemType: x?.elemType ?? 0, shape: [xs[0]!, m, ...spatial] });
        }
        return;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const xs = rankOf(0, 'input', 3);
        const kernel = attrInts(node, 'kernel_shape');
        if (!xs) return unknownShape();
        if (!kernel) fail(ctx, "attribute 'kernel_shape' is missing");
        const r = xs.length - 2;
        if (kernel.length !== r) fail(ctx, `kernel_shape has ${kernel.length} dims, input has ${r} spatial dims`);
        const spatial = windowOutput(
          ctx,
          xs.slice(2),
          kernel,
          attrInts(node, 'strides') ?? new Array(r).fill(1),
          attrInts(node, 'dilations') ?? new Array(r).fill(1),
          attrInts(node, 'pads') ?? new Array(2 * r).fill(0),
          attrString(node, 'auto_pad') ?? 'NOTSET',
          attrInt(node, 'ceil_mode', 0) === 1,
        );
        set(0, { elemType: x?.elemType ?? 0, shape: [xs[0]!, xs[1]!, ...spatial] });
        if (node.outputs[1]) set(1, { elemType: DataType.INT64, shape: [xs[0]!, xs[1]!, ...spatial] });
        return;
      }
      case 'GlobalAveragePool':
      case 'GlobalMaxPool': {
        const xs = rankOf(0, 'input', 3);
        if (!xs) return unknownShape();
        set(0, { elemType: x?.elemType ?? 0, shape: [xs[0]!, xs[1]!, ...xs.slice(2).map(() => 1)] });
        return;
      }
      case 'Flatten': {
        const xs = rankOf(0, 'input');
        if (!xs) return unknownShape();
        let axis = attrInt(node, 'axis', 1);
        if (axis < -xs.length || axis > xs.length) fail(ctx, `axis ${axis} is out of range for rank ${xs.length}`);
        if (axis < 0) axis += xs.length;
        set(0, { elemType: x?.elemType ?? 0, shape: [product(xs.slice(0, axis)), product(xs.slice(axis))] });
        return;
      }
      case 'Reshape': {
        const target = constantValue(constants.get(node.inputs[1] ?? ''));
        if (!target) {
          set(0, { elemType: x?.elemType ?? 0, shape: undefined });
          return;
        }
        const xs = x?.shape;
        const allowZero = attrInt(node, 'allowzero', 0) === 1;
        const out: ShapeDim[] = target.map((d, i) => (d === 0 && !allowZero ? (xs ? (i < xs.length ? xs[i]! : fail(ctx, `shape[${i}] = 0 copies a dim the input does not have`)) : null) : d));
        const minus = out.filter((d) => d === -1).length;
        if (minus > 1) fail(ctx, `shape [${target.join(',')}] has more than one -1`);
        if (out.some((d) => typeof d === 'number' && d < -1)) fail(ctx, `shape [${target.join(',')}] has a negative dim`);
        if (xs) {
          const total = symbolicProduct(xs);
          const rest = symbolicProduct(out.filter((d) => d !== -1));
          if (minus === 1) {
            const k = out.indexOf(-1);
            const dim = total && rest ? divideProducts(total, rest) : null;
            if (dim === undefined) fail(ctx, `cannot reshape '${node.inputs[0]}' [${xs.join(',')}] into [${target.join(',')}]`);
            out[k] = dim;
          } else if (total && rest && total.symbols.length === 0 && rest.symbols.length === 0 && total.n !== rest.n) {
            fail(ctx, `cannot reshape ${total.n} elements of '${node.inputs[0]}' into [${target.join(',')}]`);
          }
        } else if (minus === 1) out[out.indexOf(-1)] = null;
        set(0, { elemType: x?.elemType ?? 0, shape: out });
        return;
      }
      case 'Expand': {
        // output: x broadcast with the shape (a constant here; else the rank and dims are unknown)
        const target = constantValue(constants.get(node.inputs[1] ?? ''));
        if (!target || !x?.shape) return set(0, { elemType: x?.elemType ?? 0, shape: undefined });
        const out = broadcastShapes(x.shape, target);
        if (!out) fail(ctx, `'${node.inputs[0]}' [${x.shape.join(',')}] cannot be expanded to [${target.join(',')}]`, { tensor: node.inputs[0] });
        set(0, { elemType: x.elemType, shape: out });
        return;
      }
      case 'Gemm': {
        const a = rankOf(0, 'A', 2);
        const bShape = rankOf(1, 'B', 2);
        if (!a || !bShape) return unknownShape();
        if (a.length !== 2 || bShape.length !== 2) fail(ctx, `A and B must be 2-D, got [${a.join(',')}] and [${bShape.join(',')}]`);
        const transA = attrInt(node, 'transA', 0) === 1;
        const transB = attrInt(node, 'transB', 0) === 1;
        const [m, ka] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
        const [kb, n] = transB ? [bShape[1]!, bShape[0]!] : [bShape[0]!, bShape[1]!];
        if (known(ka) && known(kb) && ka !== kb)
          fail(ctx, `inner dims differ: A '${node.inputs[0]}' [${a.join(',')}] and B '${node.inputs[1]}' [${bShape.join(',')}] (transA ${+transA}, transB ${+transB})`, { tensor: node.inputs[1] });
        const c = inputOf(2)?.shape;
        if (c && !broadcastShapes([m, n], c)) fail(ctx, `C '${node.inputs[2]}' [${c.join(',')}] does not broadcast to [${m},${n}]`, { tensor: node.inputs[2] });
        set(0, { elemType: x?.elemType ?? 0, shape: [m, n] });
        return;
      }
      case 'MatMul': {
        const a0 = rankOf(0, 'A', 1);
        const b0 = rankOf(1, 'B', 1);
        if (!a0 || !b0) return unknownShape();
        const a = a0.length === 1 ? [1, a0[0]!] : a0;
        const b = b0.length === 1 ? [b0[0]!, 1] : b0;
        const ka = a[a.length - 1];
        const kb = b[b.length - 2];
        if (known(ka) && known(kb) && ka !== kb)
          fail(ctx, `inner dims differ: '${node.inputs[0]}' [${a0.join(',')}] and '${node.inputs[1]}' [${b0.join(',')}]`, { tensor: node.inputs[1] });
        const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
        if (!batch) fail(ctx, `batch dims of [${a0.join(',')}] and [${b0.join(',')}] cannot be broadcast`);
        const out = [...batch, ...(a0.length === 1 ? [] : [a[a.length - 2]!]), ...(b0.length === 1 ? [] : [b[b.length - 1]!])];
        set(0, { elemType: x?.elemType ?? 0, shape: out });
        return;
      }
      case 'Concat': {
        const axisAttr = attrInt(node, 'axis');
        if (axisAttr === undefined) fail(ctx, "attribute 'axis' is missing");
        const inputs = node.inputs.map((_, i) => inputOf(i)?.shape);
        if (inputs.some((s) => !s)) {
          set(0, { elemType: x?.elemType ?? 0, shape: undefined });
          return;
        }
        const first = inputs[0]!;
        const rank = first.length;
        const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
        if (axis < 0 || axis >= rank) fail(ctx, `axis ${axisAttr} is out of range for rank ${rank}`);
        const out = [...first];
        let sum: ShapeDim = 0;
        inputs.forEach((s, i) => {
          if (s!.length !== rank) fail(ctx, `input '${node.inputs[i]}' has rank ${s!.length}, '${node.inputs[0]}' has rank ${rank}`, { tensor: node.inputs[i] });
          s!.forEach((d, k) => {
            if (k !== axis && known(d) && known(out[k]) && d !== out[k])
              fail(ctx, `input '${node.inputs[i]}' has dim ${k} = ${d}, '${node.inputs[0]}' has ${out[k]}`, { tensor: node.inputs[i] });
          });
          const d = s![axis];
          sum = known(sum) && known(d) ? sum + d : null;
        });
        out[axis] = sum;
        set(0, { elemType: x?.elemType ?? 0, shape: out });
        return;
      }
      case 'Transpose': {
        const s = x?.shape;
        if (!s) return unknownShape();
        const perm = attrInts(node, 'perm') ?? s.map((_, i) => s.length - 1 - i);
        if (perm.length !== s.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) fail(ctx, `perm [${perm.join(',')}] is not a permutation of the ${s.length} axes of '${node.inputs[0]}'`);
        set(0, { elemType: x?.elemType ?? 0, shape: perm.map((p) => s[p]!) });
        return;
      }
      case 'Split': {
        // sizes from the 'split' input (opset 13+) or attribute, else equal parts (num_outputs, opset 18+, or outputs)
        const s = x?.shape;
        if (!s) return unknownShape(...node.outputs.map((_, k) => k));
        const axisAttr = attrInt(node, 'axis', 0);
        const axis = axisAttr < 0 ? axisAttr + s.length : axisAttr;
        if (axis < 0 || axis >= s.length) fail(ctx, `axis ${axisAttr} is out of range for rank ${s.length}`);
        const splitInput = node.inputs[1] ?? '';
        const given = splitInput ? constantValue(constants.get(splitInput)) : attrInts(node, 'split');
        const d = s[axis];
        const parts = node.outputs.length;
        // sizes from a non-constant 'split' input are unknown; equal parts only when no sizes are given at all
        const sizes: ShapeDim[] = given ? [...given] : !splitInput && known(d) && d % parts === 0 ? Array(parts).fill(d / parts) : Array(parts).fill(null);
        if (given && known(d) && given.reduce((a, b) => a + b, 0) !== d) fail(ctx, `split sizes [${given.join(',')}] do not add up to dim ${axis} = ${d} of '${node.inputs[0]}'`);
        node.outputs.forEach((_, k) => set(k, { elemType: x?.elemType ?? 0, shape: s.map((v, i) => (i === axis ? (sizes[k] ?? null) : v)) }));
        return;
      }
      case 'Shape': {
        // start/end (opset 15) slice the shape, clamped to [0, rank] as Slice does.
        const s = x?.shape;
        if (!s) return set(0, { elemType: DataType.INT64, shape: [null] });
        const clamp = (v: number) => Math.min(s.length, Math.max(0, v < 0 ? v + s.length : v));
        const start = clamp(attrInt(node, 'start', 0));
        const end = clamp(attrInt(node, 'end', s.length));
        set(0, { elemType: DataType.INT64, shape: [Math.max(0, end - start)] });
        return;
      }
      default:
        unknownOps.add(op);
    }
  });
  return { shapes, unknownOps: [...unknownOps] };
}

/** One value: a scalar or a [1] tensor (ONNX treats both as per-tensor). */
const isSingle = (s: ShapeDim[]) => s.length === 0 || (s.length === 1 && s[0] === 1);

/**
 * Q/DQ parameters as ONNX allows them: per-tensor (scalar or [1], zero point likewise, in either form),
 * per-axis (1-D of the axis' size), or blocked (block_size > 0: x's rank, the axis dim ceil-divided by the block).
 */
function checkQdqParams(ctx: Ctx, x: ShapeDim[] | undefined, scale: ShapeDim[] | undefined, zeroPoint: ShapeDim[] | undefined, axisAttr: number, blockSize: number): void {
  if (!scale) return;
  const perTensor = isSingle(scale);
  if (zeroPoint && !(perTensor && isSingle(zeroPoint)) && (zeroPoint.length !== scale.length || zeroPoint.some((d, i) => known(d) && known(scale[i]) && d !== scale[i])))
    fail(ctx, `zero point '${ctx.node.inputs[2]}' [${zeroPoint.join(',')}] does not match scale '${ctx.node.inputs[1]}' [${scale.join(',')}]`, { tensor: ctx.node.inputs[2] });
  if (perTensor || !x) return;
  const axis = axisAttr < 0 ? axisAttr + x.length : axisAttr;
  if (axis < 0 || axis >= x.length) fail(ctx, `axis ${axisAttr} is out of range for rank ${x.length}`);
  if (blockSize > 0) {
    if (scale.length !== x.length) fail(ctx, `blocked scale '${ctx.node.inputs[1]}' [${scale.join(',')}] must have the rank of '${ctx.node.inputs[0]}' [${x.join(',')}]`, { tensor: ctx.node.inputs[1] });
    scale.forEach((d, i) => {
      const want = i === axis ? (known(x[i]) ? Math.ceil(x[i] / blockSize) : null) : x[i];
      if (known(d) && known(want) && d !== want)
        fail(ctx, `blocked scale '${ctx.node.inputs[1]}' [${scale.join(',')}] does not fit '${ctx.node.inputs[0]}' [${x.join(',')}] with block_size ${blockSize} on axis ${axis}`, { tensor: ctx.node.inputs[1] });
    });
    return;
  }
  if (scale.length !== 1) fail(ctx, `scale '${ctx.node.inputs[1]}' must be a scalar or 1-D, got [${scale.join(',')}]`, { tensor: ctx.node.inputs[1] });
  const c = x[axis];
  if (known(c) && known(scale[0]) && scale[0] !== c)
    fail(ctx, `per-axis scale '${ctx.node.inputs[1]}' has ${scale[0]} values, axis ${axis} of '${ctx.node.inputs[0]}' has ${c}`, { tensor: ctx.node.inputs[1] });
}

export interface CheckReport {
  nodeCount: number;
  shapes: Map<string, TensorShape>;
  unknownOps: string[];
}

function graphError(graph: OnnxGraph, message: string, details: Record<string, unknown>): TrtnError {
  return new TrtnError('ERR_ONNX_PARSE', `graph '${graph.name}': ${message}`, details);
}

/**
 * Check a model: opset import present, unique names, every node input defined before it is used
 * (graph input, initializer or an earlier node's output: nodes must be in topological order), graph
 * outputs produced, and shapes consistent (inferShapes). Throws ERR_ONNX_PARSE naming the node.
 */
export function checkModel(model: OnnxModel): CheckReport {
  const imported = opsetVersion(model);
  // A model may import only other domains (ai.onnx.ml, training); then it may use no ai.onnx op.
  const onnxNode = model.graph.nodes.find((n) => n.domain === '' || n.domain === 'ai.onnx');
  if (imported === undefined && onnxNode)
    throw new TrtnError('ERR_ONNX_PARSE', `the model imports no ai.onnx opset, yet ${describeNode(onnxNode)} is an ai.onnx op`, { node: onnxNode.name || onnxNode.opType });
  const opset = imported ?? 1;
  const graph = model.graph;
  const defined = new Set<string>();
  const seen = (name: string, what: string, details: Record<string, unknown>): void => {
    if (defined.has(name)) throw graphError(graph, `${what} '${name}' is defined more than once`, { tensor: name, ...details });
    defined.add(name);
  };
  const inits = new Set<string>();
  for (const t of graph.initializers) {
    if (!t.name) throw graphError(graph, 'an initializer has no name', {});
    if (inits.has(t.name)) throw graphError(graph, `initializer '${t.name}' is defined more than once`, { tensor: t.name });
    inits.add(t.name);
  }
  for (const v of graph.inputs) {
    if (!v.name) throw graphError(graph, 'a graph input has no name', {});
    if (!inits.has(v.name)) seen(v.name, 'graph input', {});
  }
  for (const name of inits) seen(name, 'initializer', {});

  const producedAt = new Map<string, number>();
  graph.nodes.forEach((node, i) => node.outputs.forEach((o) => o && !producedAt.has(o) && producedAt.set(o, i)));
  graph.nodes.forEach((node, i) => {
    const ctx = { node, index: i };
    if (!node.opType) fail(ctx, 'op_type is empty');
    const attrNames = new Set<string>();
    for (const a of node.attributes) {
      if (attrNames.has(a.name)) fail(ctx, `attribute '${a.name}' appears more than once`);
      attrNames.add(a.name);
    }
    for (const input of node.inputs) {
      if (input === '' || defined.has(input)) continue;
      const later = producedAt.get(input);
      if (later !== undefined && later >= i) {
        const p = graph.nodes[later]!;
        fail(ctx, `input '${input}' is produced by ${describeNode(p, later)}, which comes later: nodes are not in topological order`, { tensor: input });
      }
      fail(ctx, `input '${input}' is not produced by any node, graph input or initializer`, { tensor: input });
    }
    for (const o of node.outputs) {
      if (o === '') continue;
      if (defined.has(o)) fail(ctx, `output '${o}' is already defined (outputs must have unique names)`, { tensor: o });
      defined.add(o);
    }
  });
  for (const v of graph.outputs)
    if (!defined.has(v.name)) throw graphError(graph, `graph output '${v.name}' is not produced by any node`, { tensor: v.name });

  const { shapes, unknownOps } = inferGraphShapes(graph, opset);
  for (const v of graph.outputs) {
    const declared = v.type?.tensorType;
    const inferred = shapes.get(v.name);
    if (!declared || !inferred) continue;
    if (declared.elemType && inferred.elemType && declared.elemType !== inferred.elemType)
      throw graphError(graph, `graph output '${v.name}' is declared with element type ${declared.elemType} but computes ${inferred.elemType}`, { tensor: v.name });
    const d = declared.shape;
    const s = inferred.shape;
    if (d && s && (d.length !== s.length || d.some((x, k) => known(x) && known(s[k]) && x !== s[k])))
      throw graphError(graph, `graph output '${v.name}' is declared [${d.join(',')}] but computes [${s.join(',')}]`, { tensor: v.name });
  }
  return { nodeCount: graph.nodes.length, shapes, unknownOps };
}
