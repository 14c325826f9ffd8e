/**
 * Graph utilities shared by the rewrites: producers/consumers, topological order, unique names,
 * node/attribute construction, and pure edits (each returns a new model, the input is untouched).
 */
import { TrtnError } from '../errors.js';
import {
  AttributeType,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './model.js';

/** How a node is named in errors: its name, else its op type and index. */
export function describeNode(node: OnnxNode, index?: number): string {
  const where = index === undefined ? '' : ` #${index}`;
  return node.name ? `node '${node.name}' (${node.opType}${where})` : `${node.opType} node${where}`;
}

export function nodeLabel(node: OnnxNode, index: number): string {
  return node.name || `${node.opType}#${index}`;
}

// ---------------------------------------------------------------------------------------------- attributes

export type AttributeValue = number | string | number[] | string[] | OnnxTensor | OnnxGraph | Uint8Array;

export const attr = {
  float: (name: string, f: number): OnnxAttribute => ({ name, type: AttributeType.FLOAT, f }),
  int: (name: string, i: number): OnnxAttribute => ({ name, type: AttributeType.INT, i }),
  string: (name: string, s: string): OnnxAttribute => ({ name, type: AttributeType.STRING, s: new TextEncoder().encode(s) }),
  tensor: (name: string, t: OnnxTensor): OnnxAttribute => ({ name, type: AttributeType.TENSOR, t }),
  graph: (name: string, g: OnnxGraph): OnnxAttribute => ({ name, type: AttributeType.GRAPH, g }),
  floats: (name: string, floats: number[]): OnnxAttribute => ({ name, type: AttributeType.FLOATS, floats: [...floats] }),
  ints: (name: string, ints: number[]): OnnxAttribute => ({ name, type: AttributeType.INTS, ints: [...ints] }),
  strings: (name: string, strings: string[]): OnnxAttribute => ({
    name,
    type: AttributeType.STRINGS,
    strings: strings.map((s) => new TextEncoder().encode(s)),
  }),
};

/**
 * An attribute from a JS value: integers become INT/INTS, other numbers FLOAT/FLOATS, strings STRING(S).
 * Use `attr.float` where a float attribute happens to hold an integral value (e.g. epsilon 1).
 */
export function makeAttribute(name: string, value: AttributeValue): OnnxAttribute {
  if (typeof value === 'number') return Number.isInteger(value) ? attr.int(name, value) : attr.float(name, value);
  if (typeof value === 'string') return attr.string(name, value);
  if (value instanceof Uint8Array) return { name, type: AttributeType.STRING, s: value };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return attr.strings(name, value as string[]);
    const nums = value as number[];
    return nums.every((v) => Number.isInteger(v)) ? attr.ints(name, nums) : attr.floats(name, nums);
  }
  if ('nodes' in value) return attr.graph(name, value);
  return attr.tensor(name, value);
}

export interface MakeNodeOptions {
  name?: string;
  domain?: string;
  attributes?: OnnxAttribute[] | Record<string, AttributeValue | OnnxAttribute>;
}

export function makeNode(opType: string, inputs: string[], outputs: string[], options: MakeNodeOptions = {}): OnnxNode {
  const { attributes = [] } = options;
  const list = Array.isArray(attributes)
    ? attributes
    : Object.entries(attributes).map(([k, v]) =>
        typeof v === 'object' && v !== null && 'type' in v && 'name' in v && !('dims' in v) ? (v as OnnxAttribute) : makeAttribute(k, v as AttributeValue),
      );
  return { name: options.name ?? '', opType, domain: options.domain ?? '', inputs: [...inputs], outputs: [...outputs], attributes: list };
}

export function getAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes.find((a) => a.name === name);
}

export function attrInt(node: OnnxNode, name: string, fallback: number): number;
export function attrInt(node: OnnxNode, name: string): number | undefined;
export function attrInt(node: OnnxNode, name: string, fallback?: number): number | undefined {
  return getAttribute(node, name)?.i ?? fallback;
}

export function attrFloat(node: OnnxNode, name: string, fallback: number): number;
export function attrFloat(node: OnnxNode, name: string): number | undefined;
export function attrFloat(node: OnnxNode, name: string, fallback?: number): number | undefined {
  return getAttribute(node, name)?.f ?? fallback;
}

export function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  if (!a) return undefined;
  return a.ints ?? [];
}

export function attrFloats(node: OnnxNode, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  if (!a) return undefined;
  return a.floats ?? [];
}

export function attrString(node: OnnxNode, name: string): string | undefined {
  const a = getAttribute(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}

// ---------------------------------------------------------------------------------------------- lookups

export interface TensorUse {
  node: OnnxNode;
  nodeIndex: number;
  /** Input slot (consumers) or output slot (producer). */
  slot: number;
}

/** Tensor name -> the node output that produces it. */
export function producerMap(graph: OnnxGraph): Map<string, TensorUse> {
  const map = new Map<string, TensorUse>();
  graph.nodes.forEach((node, nodeIndex) =>
    node.outputs.forEach((name, slot) => {
      if (name !== '') map.set(name, { node, nodeIndex, slot });
    }),
  );
  return map;
}

/** Tensor name -> every node input that reads it, in node order. */
export function consumerMap(graph: OnnxGraph): Map<string, TensorUse[]> {
  const map = new Map<string, TensorUse[]>();
  graph.nodes.forEach((node, nodeIndex) =>
    node.inputs.forEach((name, slot) => {
      if (name === '') return;
      let list = map.get(name);
      if (!list) map.set(name, (list = []));
      list.push({ node, nodeIndex, slot });
    }),
  );
  return map;
}

/** A node of the default ONNX domain ('' or 'ai.onnx'). */
export function isDefaultDomain(node: OnnxNode): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

/** The one node reading `tensor` (from consumerMap), unless others read it too or it is a graph output. */
export function soleReader(consumers: ReadonlyMap<string, TensorUse[]>, graphOutputs: ReadonlySet<string>, tensor: string): OnnxNode | undefined {
  const uses = consumers.get(tensor) ?? [];
  return uses.length === 1 && !graphOutputs.has(tensor) ? uses[0]!.node : undefined;
}

export function findProducer(graph: OnnxGraph, tensor: string): TensorUse | undefined {
  return producerMap(graph).get(tensor);
}

export function findConsumers(graph: OnnxGraph, tensor: string): TensorUse[] {
  return consumerMap(graph).get(tensor) ?? [];
}

export function findInitializer(graph: OnnxGraph, name: string): OnnxTensor | undefined {
  return graph.initializers.find((t) => t.name === name);
}

/** Names of graph inputs that are not initializers (the real feeds). */
export function feedInputs(graph: OnnxGraph): OnnxValueInfo[] {
  const inits = new Set(graph.initializers.map((t) => t.name));
  return graph.inputs.filter((v) => !inits.has(v.name));
}

/**
 * Nodes in a topological order (stable: keeps the given order where it is already valid).
 * Inputs from graph inputs, initializers and `outerScope` (names visible from an enclosing graph) are
 * available from the start. Throws ERR_ONNX_PARSE naming a node on a cycle or an input nobody produces.
 */
export function topologicalSort(graph: OnnxGraph, outerScope: Iterable<string> = []): OnnxNode[] {
  const available = new Set<string>([...outerScope, ...graph.inputs.map((v) => v.name), ...graph.initializers.map((t) => t.name), '']);
  const producers = producerMap(graph);
  const waiting = new Map<string, number[]>();
  const missing = graph.nodes.map((node, i) => {
    let count = 0;
    for (const name of new Set(node.inputs)) {
      if (available.has(name)) continue;
      if (!producers.has(name))
        throw new TrtnError('ERR_ONNX_PARSE', `${describeNode(node, i)}: input '${name}' is not produced by any node, graph input or initializer`, { node: nodeLabel(node, i), tensor: name, index: i, opType: node.opType });
      count++;
      let list = waiting.get(name);
      if (!list) waiting.set(name, (list = []));
      list.push(i);
    }
    return count;
  });
  // Min-heap by original index keeps the order stable; a simple sorted ready list suffices at these sizes.
  const ready: number[] = [];
  missing.forEach((c, i) => c === 0 && ready.push(i));
  const order: OnnxNode[] = [];
  const done = new Set<string>();
  while (ready.length) {
    ready.sort((a, b) => b - a);
    const i = ready.pop()!;
    const node = graph.nodes[i]!;
    order.push(node);
    for (const out of node.outputs) {
      if (out === '' || done.has(out)) continue;
      done.add(out);
      for (const j of waiting.get(out) ?? []) if (--missing[j]! === 0) ready.push(j);
    }
  }
  if (order.length !== graph.nodes.length) {
    const i = missing.findIndex((c) => c > 0);
    const node = graph.nodes[i]!;
    throw new TrtnError('ERR_ONNX_PARSE', `${describeNode(node, i)} is part of a cycle`, { node: nodeLabel(node, i), index: i, opType: node.opType });
  }
  return order;
}

// ---------------------------------------------------------------------------------------------- names

/** Every name used in a graph (tensors and nodes), for generating fresh ones. */
export function usedNames(graph: OnnxGraph): Set<string> {
  const names = new Set<string>();
  for (const v of [...graph.inputs, ...graph.outputs, ...graph.valueInfo]) names.add(v.name);
  for (const t of graph.initializers) names.add(t.name);
  for (const n of graph.nodes) {
    if (n.name) names.add(n.name);
    for (const x of n.inputs) names.add(x);
    for (const x of n.outputs) names.add(x);
  }
  return names;
}

/** Hands out names not yet used in the graph (nor by earlier calls): base, base_1, base_2, ... */
export class NameGenerator {
  private readonly taken: Set<string>;
  constructor(graphOrNames: OnnxGraph | Iterable<string>) {
    this.taken = 'nodes' in (graphOrNames as OnnxGraph) ? usedNames(graphOrNames as OnnxGraph) : new Set(graphOrNames as Iterable<string>);
  }
  next(base: string): string {
    let name = base;
    for (let k = 1; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }
  has(name: string): boolean {
    return this.taken.has(name);
  }
}

export function uniqueName(graph: OnnxGraph, base: string): string {
  return new NameGenerator(graph).next(base);
}

// ---------------------------------------------------------------------------------------------- pure edits

/** A copy of the model whose graph lists and nodes can be changed without touching the input. Tensors are shared. */
export function cloneModel(model: OnnxModel): OnnxModel {
  const g = model.graph;
  return {
    ...model,
    opsetImport: model.opsetImport.map((o) => ({ ...o })),
    graph: {
      ...g,
      nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: [...n.attributes] })),
      initializers: [...g.initializers],
      inputs: [...g.inputs],
      outputs: [...g.outputs],
      valueInfo: [...g.valueInfo],
    },
  };
}

/**
 * The graph's initializers less those named in `dropped` that no node of `nodes` (the rewritten graph's), no graph
 * input and no graph output reads: constants only the replaced or removed nodes read.
 */
export function initializersStillRead(graph: OnnxGraph, nodes: readonly OnnxNode[], dropped: Iterable<string>): OnnxTensor[] {
  const read = new Set([...nodes.flatMap((n) => n.inputs), ...graph.inputs.map((v) => v.name), ...graph.outputs.map((v) => v.name)]);
  const gone = new Set([...dropped].filter((t) => !read.has(t)));
  return graph.initializers.filter((t) => !gone.has(t.name));
}

/** The model with some of its graph's fields replaced (a shallow copy). */
export function withGraph(model: OnnxModel, graph: Partial<OnnxGraph>): OnnxModel {
  return { ...model, graph: { ...model.graph, ...graph } };
}

/** Add or replace (by name) an initializer. */
export function setInitializer(model: OnnxModel, tensor: OnnxTensor): OnnxModel {
  const inits = model.graph.initializers;
  const i = inits.findIndex((t) => t.name === tensor.name);
  return withGraph(model, { initializers: i < 0 ? [...inits, tensor] : inits.map((t, k) => (k === i ? tensor : t)) });
}

export function removeInitializer(model: OnnxModel, name: string): OnnxModel {
  return withGraph(model, {
    initializers: model.graph.initializers.filter((t) => t.name !== name),
    inputs: model.graph.inputs.filter((v) => v.name !== name),
  });
}

function nodeIndexOf(graph: OnnxGraph, ref: string | number | OnnxNode): number {
  const i = typeof ref === 'number' ? ref : typeof ref === 'string' ? graph.nodes.findIndex((n) => n.name === ref) : graph.nodes.indexOf(ref);
  if (i < 0 || i >= graph.nodes.length)
    throw new TrtnError('ERR_INVALID_ARG', `no node ${typeof ref === 'object' ? `'${ref.name}'` : `'${ref}'`} in graph '${graph.name}'`, { node: String(typeof ref === 'object' ? ref.name : ref) });
  return i;
}

/**
 * Insert nodes at `position` (an index, or { before | after: node name, index or object });
 * default: the end of the node list.
 */
export function insertNodes(
  model: OnnxModel,
  nodes: OnnxNode[],
  position?: number | { before: string | number | OnnxNode } | { after: string | number | OnnxNode },
): OnnxModel {
  const list = model.graph.nodes;
  let at = list.length;
  if (typeof position === 'number') at = Math.max(0, Math.min(list.length, position));
  else if (position && 'before' in position) at = nodeIndexOf(model.graph, position.before);
  else if (position && 'after' in position) at = nodeIndexOf(model.graph, position.after) + 1;
  return withGraph(model, { nodes: [...list.slice(0, at), ...nodes, ...list.slice(at)] });
}

/** Replace one node (by name, index or object) with zero or more nodes, in place. */
export function replaceNode(model: OnnxModel, ref: string | number | OnnxNode, replacement: OnnxNode | OnnxNode[]): OnnxModel {
  const i = nodeIndexOf(model.graph, ref);
  const list = model.graph.nodes;
  const add = Array.isArray(replacement) ? replacement : [replacement];
  return withGraph(model, { nodes: [...list.slice(0, i), ...add, ...list.slice(i + 1)] });
}

export function removeNodes(model: OnnxModel, predicate: (node: OnnxNode, index: number) => boolean): OnnxModel {
  return withGraph(model, { nodes: model.graph.nodes.filter((n, i) => !predicate(n, i)) });
}

/**
 * Make every consumer of tensor `from` read `to` instead (graph outputs included when `outputs` is true).
 * Nodes in `except` (objects) keep reading `from`, e.g. the node that now produces `to` from `from`.
 */
export function renameTensorUses(model: OnnxModel, from: string, to: string, options: { except?: OnnxNode[]; outputs?: boolean } = {}): OnnxModel {
  const except = new Set(options.except ?? []);
  const nodes = model.graph.nodes.map((n) =>
    except.has(n) || !n.inputs.includes(from) ? n : { ...n, inputs: n.inputs.map((x) => (x === from ? to : x)) },
  );
  const outputs = options.outputs ? model.graph.outputs.map((v) => (v.name === from ? { ...v, name: to } : v)) : model.graph.outputs;
  return withGraph(model, { nodes, outputs });
}

/** Drop nodes whose outputs nobody uses, and initializers nobody reads (repeated to a fixed point). */
export function pruneUnused(model: OnnxModel): OnnxModel {
  let nodes = model.graph.nodes;
  const outputs = new Set(model.graph.outputs.map((v) => v.name));
  for (;;) {
    const used = new Set<string>(outputs);
    for (const n of nodes) for (const x of n.inputs) used.add(x);
    const kept = nodes.filter((n) => n.outputs.some((o) => o !== '' && used.has(o)));
    if (kept.length === nodes.length) {
      const inits = model.graph.initializers.filter((t) => used.has(t.name));
      const initNames = new Set(model.graph.initializers.map((t) => t.name));
      const inputs = model.graph.inputs.filter((v) => !initNames.has(v.name) || used.has(v.name));
      return withGraph(model, { nodes, initializers: inits, inputs });
    }
    nodes = kept;
  }
}
