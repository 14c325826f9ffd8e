/**
 * BatchNormalization folding: y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta becomes a Conv/Gemm
 * with per-output-channel scaled weights and a new bias. Pure: returns a new model.
 */
import { attr, attrFloat, attrInt, consumerMap, findInitializer, NameGenerator, producerMap } from './graph.js';
import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from './model.js';
import { makeTensor, tensorToFloat32 } from './tensor.js';

export interface FoldBatchNormResult {
  model: OnnxModel;
  /** Names (or labels) of the BatchNormalization nodes that were folded away. */
  folded: string[];
  /** BatchNormalization nodes left in place, with the reason. */
  skipped: { node: string; reason: string }[];
}

function isFloatInit(t: OnnxTensor | undefined): t is OnnxTensor {
  return t !== undefined && t.dataType === DataType.FLOAT;
}

/** Fold every BatchNormalization that directly follows a Conv or Gemm whose output it alone reads. */
export function foldBatchNorm(model: OnnxModel): OnnxModel {
  return foldBatchNormDetailed(model).model;
}

export function foldBatchNormDetailed(model: OnnxModel): FoldBatchNormResult {
  const graph = model.graph;
  const producers = producerMap(graph);
  const consumers = consumerMap(graph);
  const graphOutputs = new Set(graph.outputs.map((v) => v.name));
  const names = new NameGenerator(graph);
  const replaced = new Map<OnnxNode, OnnxNode>();
  const removed = new Set<OnnxNode>();
  const newInits: OnnxTensor[] = [];
  const folded: string[] = [];
  const skipped: { node: string; reason: string }[] = [];

  graph.nodes.forEach((bn, bnIndex) => {
    if (bn.opType !== 'BatchNormalization' || (bn.domain !== '' && bn.domain !== 'ai.onnx')) return;
    const label = bn.name || `BatchNormalization#${bnIndex}`;
    const skip = (reason: string): void => void skipped.push({ node: label, reason });
    if (attrInt(bn, 'training_mode', 0) !== 0) return skip('training_mode is set');
    if (bn.outputs.slice(1).some((o) => o !== '')) return skip('uses the running-statistics outputs');
    const xName = bn.inputs[0]!;
    const prod = producers.get(xName);
    if (!prod) return skip('its input is not produced by a node');
    const layer = replaced.get(prod.node) ?? prod.node;
    if (layer.opType !== 'Conv' && layer.opType !== 'Gemm') return skip(`follows ${layer.opType}, not Conv/Gemm`);
    if ((consumers.get(xName)?.length ?? 0) !== 1 || graphOutputs.has(xName)) return skip(`'${xName}' has other readers`);
    const params = [1, 2, 3, 4].map((k) => findInitializer(graph, bn.inputs[k] ?? ''));
    if (!params.every(isFloatInit)) return skip('scale/bias/mean/var are not float32 initializers');
    const [gamma, beta, mean, variance] = params.map((t) => tensorToFloat32(t!));
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const channels = gamma!.length;
    const w = findInitializer(graph, layer.inputs[1] ?? '');
    if (!isFloatInit(w)) return skip(`weight of ${layer.opType} is not a float32 initializer`);
    const bias = layer.inputs[2] ? findInitializer(graph, layer.inputs[2]) : undefined;
    if (layer.inputs[2] && !isFloatInit(bias)) return skip(`bias of ${layer.opType} is not a float32 initializer`);
    const scale = new Float32Array(channels);
    for (let c = 0; c < channels; c++) scale[c] = gamma![c]! / Math.sqrt(variance![c]! + eps);

    const wData = tensorToFloat32(w);
    const newW = new Float32Array(wData.length);
    let newBias: Float32Array;
    let newLayer: OnnxNode;
    const biasIn = bias ? tensorToFloat32(bias) : undefined;
    if (layer.opType === 'Conv') {
      if (w.dims[0] !== channels) return skip(`Conv has ${w.dims[0]} output channels, BN has ${channels}`);
      const per = wData.length / channels;
      for (let c = 0; c < channels; c++) for (let k = 0; k < per; k++) newW[c * per + k] = wData[c * per + k]! * scale[c]!;
      newBias = new Float32Array(channels);
      for (let c = 0; c < channels; c++) newBias[c] = ((biasIn?.[c] ?? 0) - mean![c]!) * scale[c]! + beta![c]!;
      newLayer = { ...layer, inputs: [layer.inputs[0]!, '', ''], outputs: [bn.outputs[0]!] };
    } else {
      const transB = attrInt(layer, 'transB', 0) === 1;
      const [rows, cols] = w.dims as [number, number];
      const n = transB ? rows : cols;
      if (n !== channels) return skip(`Gemm has ${n} outputs, BN has ${channels}`);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) newW[r * cols + c] = wData[r * cols + c]! * scale[transB ? r : c]!;
      const betaGemm = attrFloat(layer, 'beta', 1);
      // C broadcasts to [M, N]; only per-column (or scalar) biases can be folded into a per-channel bias.
      if (bias && !(bias.dims.length === 0 || bias.dims.every((d, i) => d === 1 || (i === bias.dims.length - 1 && d === n))))
        return skip(`Gemm bias '${bias.name}' [${bias.dims.join(',')}] is not per-column`);
      newBias = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        const cb = biasIn ? biasIn[biasIn.length === 1 ? 0 : c]! : 0;
        newBias[c] = (betaGemm * cb - mean![c]!) * scale[c]! + beta![c]!;
      }
      newLayer = {
        ...layer,
        inputs: [layer.inputs[0]!, '', ''],
        outputs: [bn.outputs[0]!],
        attributes: [...layer.attributes.filter((a) => a.name !== 'beta'), attr.float('beta', 1)],
      };
    }
    const wName = names.next(`${w.name}_bnfold`);
    const bName = names.next(`${bias?.name ?? `${layer.name || w.name}_bias`}_bnfold`);
    newInits.push(makeTensor(wName, newW, w.dims), makeTensor(bName, newBias, [channels]));
    newLayer.inputs = [layer.inputs[0]!, wName, bName];
    replaced.set(prod.node, newLayer);
    removed.add(bn);
    folded.push(label);
  });

  if (folded.length === 0) return { model, folded, skipped };
  const nodes = graph.nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
  const used = new Set<string>(graph.outputs.map((v) => v.name));
  for (const n of nodes) for (const x of n.inputs) used.add(x);
  // Drop the initializers only the folded nodes read (old weights, BN parameters).
  const initializers = [...graph.initializers, ...newInits].filter((t) => used.has(t.name));
  const initNames = new Set(graph.initializers.map((t) => t.name));
  const inputs = graph.inputs.filter((v) => !initNames.has(v.name) || used.has(v.name));
  const valueInfo = graph.valueInfo.filter((v) => used.has(v.name) || nodes.some((n) => n.outputs.includes(v.name)));
  return { model: { ...model, graph: { ...graph, nodes, initializers, inputs, valueInfo } }, folded, skipped };
}
