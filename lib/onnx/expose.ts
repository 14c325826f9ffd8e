/** Make intermediate tensors graph outputs, so a runtime returns them (calibration statistics, debugging). */
import { TrtnError } from '../errors.js';
import { inferredShapes } from './check.js';
import type { OnnxModel, OnnxValueInfo } from './model.js';

/**
 * A model whose outputs also include `names` (node outputs), or every node output for 'all'.
 * Types come from value_info where present, else from shape inference. Names already graph outputs are kept once.
 */
export function exposeTensors(model: OnnxModel, names: readonly string[] | 'all'): OnnxModel {
  const g = model.graph;
  const nodeOutputs: string[] = [];
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') nodeOutputs.push(o);
  const produced = new Set(nodeOutputs);
  const wanted = names === 'all' ? nodeOutputs : [...names];
  if (names !== 'all' && !Array.isArray(names))
    throw new TrtnError('ERR_INVALID_ARG', `exposeTensors: names must be an array of tensor names or 'all'`);
  for (const name of wanted) {
    if (typeof name !== 'string' || !produced.has(name))
      throw new TrtnError('ERR_INVALID_ARG', `exposeTensors: '${String(name)}' is not produced by any node of graph '${g.name}'`, { tensor: String(name) });
  }
  const present = new Set(g.outputs.map((v) => v.name));
  const valueInfo = new Map(g.valueInfo.map((v) => [v.name, v]));
  const inferred = inferredShapes(model); // undefined: an inconsistent graph still gets its outputs, just without types
  const added: OnnxValueInfo[] = [];
  for (const name of wanted) {
    if (present.has(name)) continue;
    present.add(name);
    const known = valueInfo.get(name);
    if (known?.type) {
      added.push({ name, type: known.type });
      continue;
    }
    const s = inferred?.get(name);
    added.push(s && s.elemType ? { name, type: { tensorType: { elemType: s.elemType, ...(s.shape ? { shape: [...s.shape] } : {}) } } } : { name });
  }
  return { ...model, graph: { ...g, outputs: [...g.outputs, ...added] } };
}
