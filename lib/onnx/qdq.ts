/**
 * INT8 Q/DQ insertion (explicit quantization), a pure function model -> { model, report }.
 *
 * Placement policy (symmetric int8 weights; activations as described per target below):
 * - Compute ops Conv, ConvTranspose, Gemm and MatMul whose weight (input 1) is a float32 initializer are
 *   quantized: activation input 0 per tensor; the weight per output channel (Conv axis 0, ConvTranspose axis 1,
 *   Gemm transB=1 axis 0 / transB=0 axis 1, MatMul axis 1 of the [K,N] weight); the bias (target 'onnxruntime')
 *   as int32 with scale s_x * s_w[c], which is what ONNX Runtime's QLinearConv/QGemm need. For target
 *   'tensorrt' the weight stays a float initializer behind QuantizeLinear -> DequantizeLinear (TensorRT folds it)
 *   and the bias stays float (TensorRT does not take quantized biases).
 * - The output of a quantized compute op is quantized too (Q right after it), so ONNX Runtime fuses
 *   DQ -> op -> Q into one integer kernel (QLinearConv, QGemm, QLinearMatMul) and TensorRT fuses the output
 *   quantization into the layer.
 * - Quantization then propagates forward through ops that have int8 kernels or move data only: MaxPool,
 *   AveragePool, GlobalAveragePool, Relu, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, and through Add and
 *   Concat when every float input is already quantized (residual Add -> QLinearAdd with its own output scale;
 *   Concat -> QLinearConcat). Ops that only move data (MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze;
 *   for ONNX Runtime also Split) reuse their input's scale, which lets ONNX Runtime drop their Q/DQ pair and run them on int8 directly.
 * - Activation encoding. TensorRT: int8, zero point 0. ONNX Runtime: uint8 (its x86 kernels' native u8 x s8 form);
 *   a tensor that can be negative gets zero point 128 (q - 128 = the symmetric int8 value, scale amax/127); a
 *   non-negative one (a Relu output, and pooling, reshaping, Concat or Add of non-negative tensors: plan.nonNegative)
 *   gets zero point 0 over [0, amax] (scale amax/255: twice the resolution of the symmetric form).
 * - Relu after a quantized op, as its input's only reader. TensorRT: the op's output gets the Relu output's scale
 *   (negative values are zeroed anyway) and the Relu sits between a DQ and a Q of equal scale; TensorRT fuses it
 *   into the layer. ONNX Runtime: no Q/DQ between the op and its Relu (op -> Relu -> Q, zero point 0); ORT drops a
 *   Relu whose Q has zero point 0 (the clamp to [0, amax] is the Relu) and fuses the op with that Q, so the Relu
 *   costs nothing. (The earlier LeakyRelu(alpha=0) form ran an extra QLinearLeakyRelu pass per Relu.)
 * - Clip with constant bounds [0, max] (Relu6) is placed as a Relu (see isRelu6): ORT drops it into the Q.
 * - ONNX Runtime models carry metadata (ORT_DISABLED_OPTIMIZERS_KEY) turning off QDQPropagationTransformer,
 *   which would otherwise move a Q backward over a float MaxPool and run it on uint8 in NCHW (see
 *   ORT_DISABLED_OPTIMIZERS); the onnxruntime backend applies it to every session of such a model.
 * - A regular convolution with fewer than 4 input channels (a first layer on grayscale/RGB images) stays float:
 *   see QdqOptions.minConvInputChannels.
 * - Graph inputs feeding a quantized op are quantized; graph outputs are never quantized (the last op's output
 *   stays float, e.g. QGemm with float output), so the model keeps float32 at its boundary. For ONNX Runtime, neither
 *   is a Gemm or MatMul output that nothing reads as int8 (it writes float: QGemm, MatMulIntegerToFloat).
 * - Everything else stays float and is listed in the report with the reason: ops without an int8 kernel
 *   (Softmax, Sigmoid, BatchNormalization that could not be folded, ...), compute ops whose weight is not a
 *   constant, nodes excluded by the caller, and data-movement ops whose input is float.
 * Run foldBatchNorm first (quantizeModel does): a BatchNormalization left after a Conv blocks the Conv's fusion.
 */
import { TrtnError } from '../errors.js';
import { attrInt, consumerMap, findInitializer, isDefaultDomain, makeNode, NameGenerator, producerMap, topologicalSort } from './graph.js';
import { DataType, opsetVersion, type OnnxModel, type OnnxNode, type OnnxTensor } from './model.js';
import { makeTensor, tensorToFloat32 } from './tensor.js';
import { flattenNhwc, type LayoutRewrite } from './layout.js';

export type QdqTarget = 'onnxruntime' | 'tensorrt';

/**
 * Model metadata key naming ONNX Runtime graph optimizers (';'-separated) that must be off when the model runs; the
 * onnxruntime backend passes them as the session config entry optimization.disable_specified_optimizers.
 */
export const ORT_DISABLED_OPTIMIZERS_KEY = 'trtn.onnxruntime.disabled_optimizers';
/**
 * Written on every 'onnxruntime' Q/DQ model. ORT's QDQPropagationTransformer moves a QuantizeLinear backward over a
 * float MaxPool (and Reshape/Transpose), so that MaxPool runs on uint8 in NCHW layout, ORT's slowest pooling kernel
 * (measured on the Fashion-MNIST cnn: 1.35 ms vs 0.11 ms for the float NCHWc MaxPool at batch 64, which made the
 * whole int8 model slower than FP32). This placement already puts Q/DQ around every op meant to run on int8, so the
 * propagation has nothing to add.
 */
export const ORT_DISABLED_OPTIMIZERS = ['QDQPropagationTransformer'] as const;

export interface QdqOptions {
  /** Who runs the model: decides how weights and biases are stored (see the module comment). Default 'onnxruntime'. */
  target?: QdqTarget;
  /** Op types or node names kept float. */
  exclude?: readonly string[];
  /** Nodes kept float with the reason the report gives (e.g. the measured placement's timings). */
  keepFloat?: readonly { node: string; reason: string }[];
  /**
   * Quantize weights to 7 bits ([-63, 63]). ONNX Runtime's x86 int8 GEMM and convolution kernels on AVX2/AVX-512 CPUs
   * without VNNI multiply u8 x s8 pairs into int16 (vpmaddubsw) and saturate with full-range weights (a silent
   * accuracy loss); 7-bit weights cannot overflow. Depthwise convolutions keep 8 bits either way: MLAS's depthwise
   * kernels widen both operands to 32 bits before multiplying (see weightQmax). Default: true for target
   * 'onnxruntime', false for 'tensorrt' (QuantizeOptions.reduceRange says why it stays on with VNNI too).
   */
  reduceRange?: boolean;
  /**
   * A regular (group 1) convolution with fewer input channels than this stays float (default 4): the first layer on
   * grayscale or RGB images, whose reduction (C*kH*kW <= 27) is too short for int8 kernels to pay for the NHWC
   * transpose and quantization of the image (measured: ORT's int8 first conv of the Fashion-MNIST cnn runs 4x slower
   * than its fp32 NCHWc conv). Depthwise convolutions are not affected.
   */
  minConvInputChannels?: number;
}

export interface QdqReportEntry {
  node: string;
  opType: string;
}

export interface QdqReport {
  /** Compute ops with int8 weights: node, op and the weight's per-channel axis. */
  quantized: (QdqReportEntry & { weightAxis: number })[];
  /** Other ops running between quantized tensors (pooling, Relu, Add, Concat, reshapes). */
  int8: QdqReportEntry[];
  /** Ops left in float, each with the reason. */
  float: (QdqReportEntry & { reason: string })[];
  /** Activation tensors that got a QuantizeLinear/DequantizeLinear pair. */
  activations: string[];
  /** Layout rewrites made for the target (planQdqForTarget; lib/onnx/layout.ts). */
  layout?: LayoutRewrite[];
}

export interface QdqPlan {
  /** Tensors that get a Q/DQ pair, in graph order. */
  activations: string[];
  /** Tensor -> tensor whose calibrated scale it uses (itself when it has its own). */
  scaleSource: Map<string, string>;
  /** Tensors whose statistics calibration must collect (the scale sources). */
  calibrate: string[];
  /**
   * Scale sources whose values are never negative (Relu outputs, and pooling, reshaping, Concat or Add of such
   * tensors). For ONNX Runtime they are stored as uint8 with zero point 0 over [0, amax] (see the module comment).
   */
  nonNegative: Set<string>;
  /**
   * Scale sources whose range is known from the op, not calibrated (not in `calibrate`): tensor -> amax. A Sigmoid
   * output is [0, 1]; the Clip of a decomposed HardSigmoid is [0, 1/alpha] (a gate must reach 0 and 1 exactly).
   */
  fixedAmax?: Map<string, number>;
  /**
   * Tensor -> factor of its dequantization scale over its source's scale (ONNX Runtime): the output of a Mul by a
   * positive scalar constant reads its input's int8 data with the scale times the constant, and the Mul is removed.
   */
  scaleFactor?: Map<string, number>;
  /** Nodes (labels) removed by folding them into a dequantization scale, each with the tensor it reads. */
  folded?: Map<string, string>;
  report: QdqReport;
}

export const QDQ_COMPUTE_OPS = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'] as const;
/** Ops that only move or select values: their output reuses the input's scale. */
const SAME_SCALE_OPS = new Set(['MaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze']);
/**
 * ONNX Runtime only: Split on int8 (ORT drops its Q/DQ and splits the uint8 data). A float Split left a channel
 * split (ShuffleNetV2) between a DequantizeLinear and QuantizeLinears, and with it the Concat, Reshape and Transpose
 * of the channel shuffle: measured, that int8 model ran 1.4x slower than FP32.
 */
const ORT_SAME_SCALE_OPS = new Set(['Split', 'Expand']);
/** Ops with their own output scale that run on int8 when their inputs are quantized. */
const OWN_SCALE_OPS = new Set(['AveragePool', 'GlobalAveragePool', 'Add', 'Concat']);
/**
 * ONNX Runtime only: ops fused into com.microsoft QLinearSigmoid / QLinearMul when their inputs are quantized (Mul
 * of two activations: SiLU's x * Sigmoid(x), squeeze-excitation's x * gate, HardSwish's x * HardSigmoid(x)).
 */
const ORT_OWN_SCALE_OPS = new Set(['Sigmoid', 'Mul']);
/** Ops with a float constant operand that ONNX Runtime runs on int8 with the constant quantized (QLinearAdd/Mul). */
const ORT_CONSTANT_OPERAND_OPS = new Set(['Add', 'Mul']);

/**
 * Clip with constant bounds min 0 and max > 0 (Relu6 and kin): handled as a Relu. Its output is calibrated (amax at
 * most max) and stored uint8 with zero point 0 over [0, amax] for ONNX Runtime, whose ClipQuantFusion then drops
 * the Clip (the Q's range lies inside [min, max]) and fuses the producer with the Q: Relu6 costs nothing.
 */
function isRelu6(graph: OnnxModel['graph'], node: OnnxNode): boolean {
  return relu6Max(graph, node) !== undefined;
}

/** The upper bound of a Clip(0, max) with constant bounds (isRelu6), else undefined. */
function relu6Max(graph: OnnxModel['graph'], node: OnnxNode): number | undefined {
  if (node.opType !== 'Clip' || !isDefaultDomain(node)) return undefined;
  const bound = (i: number): number | undefined => {
    const t = findInitializer(graph, node.inputs[i] ?? '');
    return t && t.dataType === DataType.FLOAT && t.dims.every((d) => d === 1) ? tensorToFloat32(t)[0] : undefined;
  };
  const lo = bound(1);
  const hi = bound(2);
  return lo === 0 && hi !== undefined && hi > 0 ? hi : undefined;
}

function label(node: OnnxNode, index: number): string {
  return node.name || `${node.opType}#${index}`;
}

/** Per-channel axis of the weight of a compute node (rank from the weight). */
export function weightAxis(node: OnnxNode): number {
  switch (node.opType) {
    case 'Conv':
      return 0;
    case 'ConvTranspose':
      return 1;
    case 'Gemm':
      return attrInt(node, 'transB', 0) === 1 ? 0 : 1;
    case 'MatMul':
      return 1;
    default:
      throw new TrtnError('ERR_UNSUPPORTED', `no weight axis for op ${node.opType}`, { node: node.name });
  }
}

/** Decide placement without needing scales: which tensors get Q/DQ and which statistics calibration needs. */
export function planQdq(model: OnnxModel, options: QdqOptions = {}): QdqPlan {
  const graph = model.graph;
  const opset = opsetVersion(model) ?? 0;
  if (opset < 13) throw new TrtnError('ERR_UNSUPPORTED', `per-channel Q/DQ needs ai.onnx opset >= 13; the model imports opset ${opset}`);
  const exclude = new Set(options.exclude ?? []);
  const keepFloat = new Map((options.keepFloat ?? []).map((e) => [e.node, e.reason]));
  const target = options.target ?? 'onnxruntime';
  const nodes = topologicalSort(graph);
  const indexOf = new Map(graph.nodes.map((n, i) => [n, i]));
  const consumers = consumerMap(graph);
  const producers = producerMap(graph);
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const graphOutputs = new Set(graph.outputs.map((v) => v.name));
  const floatInputs = new Set(graph.inputs.filter((v) => !inits.has(v.name) && v.type?.tensorType?.elemType === DataType.FLOAT).map((v) => v.name));

  const report: QdqReport = { quantized: [], int8: [], float: [], activations: [] };
  const quantizedTensors = new Set<string>();
  const scaleSource = new Map<string, string>();
  const ort = target === 'onnxruntime';
  const fixedAmax = new Map<string, number>();
  const scaleFactor = new Map<string, number>();
  const folded = new Map<string, string>();
  /** A positive scalar float constant (a Mul folded into a dequantization scale). */
  const positiveScalar = (t: string): number | undefined => {
    const c = inits.get(t);
    if (!c || c.dataType !== DataType.FLOAT || !c.dims.every((d) => d === 1)) return undefined;
    const v = tensorToFloat32(c)[0]!;
    return v > 0 && Number.isFinite(v) ? v : undefined;
  };
  // A tensor is quantizable when it is float: a float graph input or produced by a node (initializers are weights).
  const isActivation = (t: string): boolean => t !== '' && !inits.has(t) && (floatInputs.has(t) || producers.has(t));
  const mark = (t: string, source: string = t): void => {
    if (graphOutputs.has(t)) return;
    quantizedTensors.add(t);
    if (!scaleSource.has(t)) scaleSource.set(t, source);
  };

  /**
   * ONNX Runtime: a quantized Gemm or MatMul whose output nothing reads as int8 writes float (QGemm with float output,
   * MatMulIntegerToFloat): a Q there would only be undone by DequantizeLinears (a ViT block's fc1 before its float
   * GELU: one Q and two DQs of [tokens, 4 * width] per block). Ops that only pass int8 data on (data movement, a
   * folded constant Mul, a Relu) count as readers when their own output is read as int8.
   */
  function floatOutputsNothingReadsAsInt8(): void {
    const int8 = new Map(report.int8.map((e) => [e.node, e]));
    const compute = new Set(report.quantized.map((e) => e.node));
    const passes = (c: OnnxNode, l: string): boolean => folded.has(l) || SAME_SCALE_OPS.has(c.opType) || ORT_SAME_SCALE_OPS.has(c.opType) || c.opType === 'Relu' || isRelu6(graph, c);
    const readsInt8 = (t: string): boolean =>
      (consumers.get(t) ?? []).some(({ node: c, slot }) => {
        const l = label(c, indexOf.get(c)!);
        if (compute.has(l)) return slot === 0;
        if (!int8.has(l)) return false;
        return passes(c, l) ? c.outputs.some((o) => quantizedTensors.has(o) && readsInt8(o)) : true;
      });
    const unquantize = (t: string): void => {
      quantizedTensors.delete(t);
      scaleSource.delete(t);
      scaleFactor.delete(t);
      fixedAmax.delete(t);
      for (const { node: c } of consumers.get(t) ?? []) {
        const l = label(c, indexOf.get(c)!);
        if (!int8.has(l) || compute.has(l)) continue;
        int8.delete(l);
        folded.delete(l);
        report.int8.splice(report.int8.findIndex((e) => e.node === l), 1);
        report.float.push({ node: l, opType: c.opType, reason: 'its input stays float: the Gemm/MatMul before it writes float, as nothing after it reads int8' });
        for (const o of c.outputs) if (quantizedTensors.has(o)) unquantize(o);
      }
    };
    for (const node of nodes) {
      if (node.opType !== 'Gemm' && node.opType !== 'MatMul') continue;
      const out = node.outputs[0] ?? '';
      if (compute.has(label(node, indexOf.get(node)!)) && quantizedTensors.has(out) && scaleSource.get(out) === out && !readsInt8(out)) unquantize(out);
    }
  }

  for (const node of nodes) {
    const name = label(node, indexOf.get(node)!);
    const fl = (reason: string) => report.float.push({ node: name, opType: node.opType, reason });
    const kept = keepFloat.get(node.name);
    if (kept !== undefined) {
      fl(kept);
      continue;
    }
    if (exclude.has(node.opType) || exclude.has(node.name)) {
      fl('excluded by the caller');
      continue;
    }
    if (!isDefaultDomain(node)) {
      fl(`domain '${node.domain}' is not quantized`);
      continue;
    }
    const op = node.opType;
    if ((QDQ_COMPUTE_OPS as readonly string[]).includes(op)) {
      const w = findInitializer(graph, node.inputs[1] ?? '');
      if (!w) {
        fl('its weight is not a constant initializer');
        continue;
      }
      if (w.dataType !== DataType.FLOAT) {
        fl(`its weight is ${w.dataType === DataType.INT8 ? 'already int8' : `data type ${w.dataType}`}, not float32`);
        continue;
      }
      if (op === 'MatMul' && w.dims.length !== 2) {
        fl(`MatMul weight has rank ${w.dims.length}; only a 2-D [K,N] weight is quantized`);
        continue;
      }
      if (op === 'Gemm' && attrInt(node, 'transA', 0) !== 0) {
        fl('Gemm with transA=1 has no integer kernel');
        continue;
      }
      if ((op === 'Conv' || op === 'ConvTranspose') && attrInt(node, 'group', 1) === 1) {
        const cin = op === 'Conv' ? w.dims[1]! : w.dims[0]!;
        const minChannels = options.minConvInputChannels ?? 4;
        if (cin < minChannels) {
          fl(`${cin} input channel${cin === 1 ? '' : 's'} (< ${minChannels}): an int8 kernel gains nothing on so short a reduction and costs a layout change`);
          continue;
        }
      }
      const x = node.inputs[0]!;
      if (!isActivation(x)) {
        fl('its data input is not a float activation');
        continue;
      }
      mark(x);
      for (const o of node.outputs.slice(0, 1)) mark(o);
      report.quantized.push({ node: name, opType: op, weightAxis: weightAxis(node) });
      continue;
    }
    const dataInputs = node.inputs.filter((t) => t !== '' && !inits.has(t) && (op !== 'Reshape' || t === node.inputs[0]));
    const allQuantized = dataInputs.length > 0 && dataInputs.every((t) => quantizedTensors.has(t));
    const out = node.outputs[0] ?? '';
    const reluLike = op === 'Relu' || isRelu6(graph, node);
    // ONNX Runtime: x * c with c a positive scalar constant is x's int8 data with c times its scale (no op at all).
    if (ort && op === 'Mul' && allQuantized && dataInputs.length === 1 && node.inputs.length === 2 && !graphOutputs.has(out)) {
      const x = dataInputs[0]!;
      const c = positiveScalar(node.inputs.find((t) => t !== x) ?? '');
      if (c !== undefined) {
        mark(out, scaleSource.get(x)!);
        scaleFactor.set(out, c * (scaleFactor.get(x) ?? 1));
        // A scaled Clip(0, max) is a gate (a decomposed HardSigmoid): its whole range, so 0 and 1 are exact.
        const clip = producers.get(x)?.node;
        const max = clip ? relu6Max(graph, clip) : undefined;
        if (max !== undefined && scaleSource.get(x) === x) fixedAmax.set(x, max);
        folded.set(name, x);
        report.int8.push({ node: name, opType: op });
        continue;
      }
    }
    const floatConstants = node.inputs.filter((t) => inits.get(t)?.dataType === DataType.FLOAT);
    const ownScale = OWN_SCALE_OPS.has(op) || (ort && ORT_OWN_SCALE_OPS.has(op));
    const sameScale = SAME_SCALE_OPS.has(op) || (ort && ORT_SAME_SCALE_OPS.has(op));
    if (ort && ownScale && floatConstants.length > 0 && !ORT_CONSTANT_OPERAND_OPS.has(op)) {
      fl(`${op} with a constant operand has no int8 kernel`);
      continue;
    }
    if (reluLike || sameScale || ownScale) {
      if (!allQuantized) {
        fl(dataInputs.length > 1 ? 'not every input is quantized' : 'its input is float');
        continue;
      }
      if (graphOutputs.has(out)) {
        fl('its output is a graph output (kept float)');
        continue;
      }
      if (sameScale) {
        // every output (Split has several) reads the input's int8 data with its scale
        const f = scaleFactor.get(node.inputs[0]!);
        for (const o of node.outputs) {
          if (o === '') continue;
          mark(o, scaleSource.get(node.inputs[0]!)!);
          if (f !== undefined) scaleFactor.set(o, f);
        }
      } else mark(out);
      if (op === 'Sigmoid') fixedAmax.set(out, 1);
      if (reluLike) {
        // When the Relu is the only reader of its input (see the module comment): for TensorRT the producer's output
        // takes the Relu's scale; for ONNX Runtime the producer's output gets no Q/DQ at all (producer -> Relu -> Q,
        // which ORT folds into the producer's integer kernel).
        const x = node.inputs[0]!;
        if ((consumers.get(x)?.length ?? 0) === 1 && scaleSource.get(x) === x) {
          if (target === 'onnxruntime') {
            quantizedTensors.delete(x);
            scaleSource.delete(x);
          } else scaleSource.set(x, out);
        }
      }
      report.int8.push({ node: name, opType: op });
      continue;
    }
    fl(`${op} has no int8 kernel in this placement`);
  }
  if (ort) floatOutputsNothingReadsAsInt8();
  // Resolve chains (a -> b -> c) to the final source.
  const resolve = (t: string): string => {
    let s = t;
    for (let guard = 0; scaleSource.get(s) !== s && guard < 1000; guard++) s = scaleSource.get(s)!;
    return s;
  };
  for (const t of quantizedTensors) scaleSource.set(t, resolve(t));
  const ordered: string[] = [...floatInputs].filter((t) => quantizedTensors.has(t));
  for (const n of nodes) for (const o of n.outputs) if (quantizedTensors.has(o)) ordered.push(o);
  report.activations = ordered;
  const calibrate = [...new Set(ordered.map((t) => scaleSource.get(t)!))].filter((t) => !fixedAmax.has(t));
  // Non-negative tensors, in graph order: a Relu output, or an op that cannot create negative values from
  // non-negative inputs. A scale source shared through a same-scale op keeps the property of its source.
  const nonNegative = new Set<string>();
  for (const node of nodes) {
    const out = node.outputs[0] ?? '';
    if (!quantizedTensors.has(out) || !isDefaultDomain(node)) continue;
    const op = node.opType;
    const data = node.inputs.filter((t) => t !== '' && !inits.has(t) && (op !== 'Reshape' || t === node.inputs[0]));
    // a constant operand of Add/Mul must be non-negative too
    const constantsNonNegative = node.inputs.every((t) => inits.get(t)?.dataType !== DataType.FLOAT || tensorToFloat32(inits.get(t)!).every((v) => v >= 0));
    const follows = SAME_SCALE_OPS.has(op) || OWN_SCALE_OPS.has(op) || (ort && (ORT_OWN_SCALE_OPS.has(op) || ORT_SAME_SCALE_OPS.has(op)));
    if (op === 'Relu' || op === 'Sigmoid' || isRelu6(graph, node) || (follows && constantsNonNegative && data.length > 0 && data.every((t) => nonNegative.has(t)))) nonNegative.add(out);
  }
  const sources = [...new Set(ordered.map((t) => scaleSource.get(t)!))];
  const nonNegativeSources = new Set(sources.filter((t) => nonNegative.has(t)));
  return { activations: ordered, scaleSource, calibrate, nonNegative: nonNegativeSources, fixedAmax, scaleFactor, folded, report };
}

/**
 * planQdq, plus the target's layout rewrites: for 'onnxruntime', a Flatten the plan runs on int8 before a Gemm or
 * MatMul reads NHWC (flattenNhwc in lib/onnx/layout.ts). Returns the model to insert Q/DQ into (rewritten or not)
 * and its plan; the rewrites are listed in plan.report.layout.
 */
export function planQdqForTarget(model: OnnxModel, options: QdqOptions = {}): { model: OnnxModel; plan: QdqPlan } {
  const plan = planQdq(model, options);
  if ((options.target ?? 'onnxruntime') !== 'onnxruntime') return { model, plan };
  const flattens = new Set(plan.report.int8.filter((e) => e.opType === 'Flatten').map((e) => e.node));
  const { model: rewritten, rewrites } = flattenNhwc(model, flattens);
  if (rewrites.length === 0) return { model, plan };
  const again = planQdq(rewritten, options);
  again.report.layout = rewrites;
  return { model: rewritten, plan: again };
}

/** A convolution with one input channel per group (depthwise, any channel multiplier). */
export function isDepthwiseConv(node: OnnxNode, weight: { dims: readonly number[] }): boolean {
  return node.opType === 'Conv' && attrInt(node, 'group', 1) > 1 && weight.dims[1] === 1;
}

/**
 * Largest |q| of a compute node's int8 weight: 63 with reduceRange, except for depthwise convolutions, whose ONNX
 * Runtime kernels (MLAS ConvSymDepthwise and ConvDepthwise, every x86 variant) sign-extend weights and zero-extend
 * inputs to 32 bits before multiplying, so full-range weights cannot saturate there; 127 otherwise.
 */
export function weightQmax(node: OnnxNode, weight: { dims: readonly number[] }, reduceRange: boolean): number {
  return reduceRange && !isDepthwiseConv(node, weight) ? 63 : 127;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Symmetric per-channel int8 quantization of a weight along `axis`. */
export function quantizeWeightPerChannel(w: Float32Array, dims: readonly number[], axis: number, qmax = 127): { q: Int8Array; scales: Float32Array } {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const amax = new Float64Array(channels);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let m = amax[c]!;
      for (let k = 0; k < inner; k++) {
        const a = Math.abs(w[base + k]!);
        if (a > m) m = a;
      }
      amax[c] = m;
    }
  const scales = new Float32Array(channels);
  // an all-zero channel (e.g. padding, lib/onnx/pad-channels.ts) gets a plain scale: any represents its zeros exactly
  for (let c = 0; c < channels; c++) scales[c] = (amax[c]! > 0 ? Math.max(amax[c]!, 1e-30) : 1) / qmax;
  const q = new Int8Array(w.length);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = scales[c]!;
      for (let k = 0; k < inner; k++) q[base + k] = Math.max(-qmax, Math.min(qmax, roundHalfEven(w[base + k]! / s)));
    }
  return { q, scales };
}

/**
 * Insert Q/DQ pairs as planned, with `scales` (tensor -> int8 scale = amax/127) for every tensor in
 * `plan.calibrate`. Returns the new model and the placement report.
 */
export function insertQdq(model: OnnxModel, scales: ReadonlyMap<string, number>, options: QdqOptions & { plan?: QdqPlan } = {}): { model: OnnxModel; report: QdqReport } {
  const target = options.target ?? 'onnxruntime';
  const reduceRange = options.reduceRange ?? target === 'onnxruntime';
  const plan = options.plan ?? planQdq(model, options);
  const graph = model.graph;
  const fixedAmax = plan.fixedAmax ?? new Map<string, number>();
  const scaleFactor = plan.scaleFactor ?? new Map<string, number>();
  const folded = plan.folded ?? new Map<string, string>();
  /** int8 scale (amax/127) of a scale source: calibrated, or from the op's known range. */
  const sourceScale = (t: string): number => (fixedAmax.has(t) ? fixedAmax.get(t)! / 127 : scales.get(t)!);
  for (const t of plan.calibrate) {
    const s = scales.get(t);
    if (s === undefined) throw new TrtnError('ERR_CALIB_CACHE', `no scale for tensor '${t}' (needed by the Q/DQ placement)`, { tensor: t });
    if (!(Number.isFinite(s) && s > 0)) throw new TrtnError('ERR_CALIB_CACHE', `scale of tensor '${t}' is ${s}; it must be a positive finite number`, { tensor: t });
  }
  const names = new NameGenerator(graph);
  const newInits: OnnxTensor[] = [];
  const scaleName = new Map<string, string>();
  const zpNames = new Map<string, string>();
  // ONNX Runtime: signed tensors as uint8 with zero point 128 (q - 128 = the symmetric int8 value), the form its
  // x86 kernels run natively (an int8 Q read by several DQs, a residual block input, is not converted by ORT's
  // s8->u8 pass and leaves every reader in float: measured, ResNet-50 ran slower than FP32); non-negative tensors
  // as uint8 with zero point 0 over [0, amax] (twice the resolution, and ORT removes a Relu feeding such a Q, so the
  // Relu is clamped inside QLinearConv/QGemm/QLinearAdd). TensorRT: int8, zero point 0.
  const zeroPoint = (unsigned: boolean): string => {
    const key = target !== 'onnxruntime' ? 'int8' : unsigned ? 'uint8_0' : 'uint8_128';
    let name = zpNames.get(key);
    if (!name) {
      name = names.next(`qdq_zero_point_${key}`);
      zpNames.set(key, name);
      newInits.push(key === 'int8' ? makeTensor(name, new Int8Array([0]), []) : makeTensor(name, new Uint8Array([key === 'uint8_0' ? 0 : 128]), []));
    }
    return name;
  };
  const activationScale = (t: string): { name: string; value: number; zeroPoint: string } => {
    const source = plan.scaleSource.get(t) ?? t;
    const factor = scaleFactor.get(t) ?? 1;
    const unsigned = target === 'onnxruntime' && plan.nonNegative.has(source);
    // Calibrated scales are amax/127; a uint8 zero-point-0 tensor spreads [0, amax] over 255 steps.
    const value = Math.fround((unsigned ? (sourceScale(source) * 127) / 255 : sourceScale(source)) * factor);
    const key = factor === 1 ? source : `${source}*${factor}`;
    let name = scaleName.get(key);
    if (!name) {
      name = names.next(factor === 1 ? `${source}_scale` : `${t}_scale`);
      scaleName.set(key, name);
      newInits.push(makeTensor(name, new Float32Array([value]), []));
    }
    return { name, value, zeroPoint: zeroPoint(unsigned) };
  };
  const quantized = new Set(plan.activations);
  // One QuantizeLinear per tensor, right after its producer; one DequantizeLinear per reading node, right before it:
  // ONNX Runtime fuses a node unit only when its DQ inputs feed that node alone (a shared DQ, e.g. a block input
  // read by a residual Add and a convolution, leaves both in float).
  const qName = new Map<string, string>();
  const qFor = (t: string): OnnxNode => {
    const { name: s, zeroPoint: zp } = activationScale(t);
    const q = names.next(`${t}_quantized`);
    qName.set(t, q);
    return makeNode('QuantizeLinear', [t, s, zp], [q], { name: names.next(`${t}_QuantizeLinear`) });
  };
  const dqFor = (t: string, reader: OnnxNode, into: OnnxNode[]): string => {
    const { name: s, zeroPoint: zp } = activationScale(t);
    const dq = names.next(`${t}_dequantized`);
    into.push(makeNode('DequantizeLinear', [qName.get(t)!, s, zp], [dq], { name: names.next(`${t}_DequantizeLinear${reader.name ? `_for_${reader.name}` : ''}`) }));
    return dq;
  };
  const computeNodes = new Set(plan.report.quantized.map((e) => e.node));
  // ONNX Runtime: float constants of Add/Mul running on int8 are stored quantized (QLinearAdd/QLinearMul need every
  // operand behind a DequantizeLinear): symmetric per tensor, zero point 128 (a scalar is exact).
  const constantOperands = new Set(target === 'onnxruntime' ? plan.report.int8.filter((e) => ORT_CONSTANT_OPERAND_OPS.has(e.opType) && !folded.has(e.node)).map((e) => e.node) : []);
  const constantQ = new Map<string, [string, string]>();
  // one DequantizeLinear per reader, as for activations
  const dequantizedConstant = (t: string, into: OnnxNode[]): string => {
    let qs = constantQ.get(t);
    if (!qs) {
      const c = findInitializer(graph, t)!;
      const v = tensorToFloat32(c);
      const amax = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const s = Math.fround(amax > 0 ? amax / 127 : 1);
      const q = Uint8Array.from(v, (x) => 128 + Math.max(-127, Math.min(127, roundHalfEven(x / s))));
      qs = [names.next(`${t}_quantized`), names.next(`${t}_scale`)];
      newInits.push(makeTensor(qs[0], q, c.dims), makeTensor(qs[1], new Float32Array([s]), []));
      constantQ.set(t, qs);
    }
    const dq = names.next(`${t}_dequantized`);
    into.push(makeNode('DequantizeLinear', [qs[0], qs[1], zeroPoint(false)], [dq], { name: names.next(`${t}_DequantizeLinear`) }));
    return dq;
  };
  const out: OnnxNode[] = [];
  for (const input of graph.inputs) if (quantized.has(input.name)) out.push(qFor(input.name));
  topologicalSort(graph).forEach((node) => {
    const index = graph.nodes.indexOf(node);
    const source = folded.get(label(node, index));
    if (source !== undefined) {
      // folded into the readers' dequantization scale: they read the input's int8 data
      qName.set(node.outputs[0]!, qName.get(source)!);
      return;
    }
    const readerDq = new Map<string, string>();
    const withConstants = constantOperands.has(label(node, index));
    let inputs = node.inputs.map((t) => {
      if (withConstants && findInitializer(graph, t)?.dataType === DataType.FLOAT) return dequantizedConstant(t, out);
      if (!quantized.has(t)) return t;
      let dq = readerDq.get(t);
      if (!dq) readerDq.set(t, (dq = dqFor(t, node, out)));
      return dq;
    });
    if (computeNodes.has(label(node, index))) {
      const axis = weightAxis(node);
      const w = findInitializer(graph, node.inputs[1]!)!;
      const wf = tensorToFloat32(w);
      const { q, scales: ws } = quantizeWeightPerChannel(wf, w.dims, axis, weightQmax(node, w, reduceRange));
      const wScale = names.next(`${w.name}_scale`);
      const wZp = names.next(`${w.name}_zero_point`);
      newInits.push(makeTensor(wScale, ws, [ws.length]), makeTensor(wZp, new Int8Array(ws.length), [ws.length]));
      const wDq = names.next(`${w.name}_dequantized`);
      if (target === 'onnxruntime') {
        const wq = names.next(`${w.name}_quantized`);
        newInits.push(makeTensor(wq, q, w.dims));
        out.push(makeNode('DequantizeLinear', [wq, wScale, wZp], [wDq], { name: names.next(`${w.name}_DequantizeLinear`), attributes: { axis } }));
      } else {
        const wq = names.next(`${w.name}_quantized`);
        out.push(
          makeNode('QuantizeLinear', [w.name, wScale, wZp], [wq], { name: names.next(`${w.name}_QuantizeLinear`), attributes: { axis } }),
          makeNode('DequantizeLinear', [wq, wScale, wZp], [wDq], { name: names.next(`${w.name}_DequantizeLinear`), attributes: { axis } }),
        );
      }
      inputs[1] = wDq;
      const biasName = node.inputs[2];
      const bias = biasName ? findInitializer(graph, biasName) : undefined;
      if (target === 'onnxruntime' && bias && bias.dataType === DataType.FLOAT && bias.dims.length === 1 && bias.dims[0] === ws.length) {
        const sx = activationScale(node.inputs[0]!).value;
        const bf = tensorToFloat32(bias);
        const bq = new Int32Array(bf.length);
        const bs = new Float32Array(bf.length);
        for (let c = 0; c < bf.length; c++) {
          bs[c] = sx * ws[c]!;
          bq[c] = Math.max(-2147483647, Math.min(2147483647, roundHalfEven(bf[c]! / bs[c]!)));
        }
        const bqName = names.next(`${bias.name}_quantized`);
        const bsName = names.next(`${bias.name}_scale`);
        const bzName = names.next(`${bias.name}_zero_point`);
        const bDq = names.next(`${bias.name}_dequantized`);
        newInits.push(makeTensor(bqName, bq, bias.dims), makeTensor(bsName, bs, [bs.length]), makeTensor(bzName, new Int32Array(bs.length), [bs.length]));
        out.push(makeNode('DequantizeLinear', [bqName, bsName, bzName], [bDq], { name: names.next(`${bias.name}_DequantizeLinear`), attributes: { axis: 0 } }));
        inputs[2] = bDq;
      }
    }
    out.push({ ...node, inputs });
    for (const o of node.outputs) if (quantized.has(o)) out.push(qFor(o));
  });
  const used = new Set<string>(graph.outputs.map((v) => v.name));
  for (const n of out) for (const x of n.inputs) used.add(x);
  const initializers = [...graph.initializers.filter((t) => used.has(t.name)), ...newInits];
  const initNames = new Set(graph.initializers.map((t) => t.name));
  const inputs = graph.inputs.filter((v) => !initNames.has(v.name) || used.has(v.name));
  const metadataProps = (model.metadataProps ?? []).filter((e) => e.key !== ORT_DISABLED_OPTIMIZERS_KEY);
  if (target === 'onnxruntime') metadataProps.push({ key: ORT_DISABLED_OPTIMIZERS_KEY, value: ORT_DISABLED_OPTIMIZERS.join(';') });
  return { model: { ...model, metadataProps, graph: { ...graph, nodes: out, initializers, inputs } }, report: plan.report };
}
