/**
 * Channel gates repeated along the width before their Mul, for ONNX Runtime's int8 kernels. ORT runs int8
 * convolutions channels-last, so a squeeze-excitation's x [N,C,H,W] * g [N,C,1,1] runs as a QLinearMul of x [N,H,W,C]
 * by g [N,1,1,C], and its broadcast loop calls the kernel once per pixel on C values: EfficientNet-B0's 16 gates took
 * 12.6 ms at batch 64 on int8 against 6.4 ms for FP32's Mul (ORT's profile, this project's 2-core machine). With the
 * gate repeated along W first, g -> Transpose(0,2,3,1) -> Expand to [.,1,W,.] -> Transpose(0,3,1,2) -> [N,C,1,W], the
 * Mul broadcasts over H only, in spans of W*C values (6.4 ms for the same gates). ORT's layout optimizer removes both
 * Transposes (they move only size-1 axes around the channels-last form), and the Expand copies blocks of C values.
 *
 * Exact: Expand repeats values, the Transposes only reorder axes. Pure: returns a new model and the gates widened.
 */
import { isDefaultDomain, makeAttribute, makeNode, NameGenerator, withGraph } from './graph.js';
import { inferredShapes } from './check.js';
import type { OnnxModel, OnnxNode, OnnxTensor, ShapeDim } from './model.js';
import { makeInt64Tensor } from './tensor.js';

export interface WidenedGate {
  /** The Mul, the gate it reads, and the width the gate was repeated to. */
  node: string;
  gate: string;
  width: number;
}

type Dims = readonly ShapeDim[];

/** x [N,C,H,W] and g [N or 1, C, 1, 1] with W a number above 1 and C the same: the width to repeat g to. */
function gateWidth(x: Dims | undefined, g: Dims | undefined): number | undefined {
  if (!x || !g || x.length !== 4 || g.length !== 4) return undefined;
  const [n, c, , w] = x;
  if (typeof w !== 'number' || w < 2 || g[2] !== 1 || g[3] !== 1) return undefined;
  if (c === null || c === undefined || g[1] !== c || (g[0] !== 1 && (g[0] === null || g[0] !== n))) return undefined;
  return w;
}

/** Every Mul of an activation by a per-channel gate of another activation, its gate repeated along the width. */
export function widenChannelGates(model: OnnxModel): { model: OnnxModel; widened: WidenedGate[] } {
  const g = model.graph;
  const shapes = inferredShapes(model);
  if (!shapes) return { model, widened: [] };
  const constant = new Set(g.initializers.map((t) => t.name));
  const names = new NameGenerator(g);
  const inits: OnnxTensor[] = [];
  const widthShape = new Map<number, string>();
  const widened: WidenedGate[] = [];
  const nodes: OnnxNode[] = [];
  for (const [index, n] of g.nodes.entries()) {
    const isMul = n.opType === 'Mul' && isDefaultDomain(n) && n.inputs.length === 2 && n.inputs.every((t) => t && !constant.has(t));
    const [a, b] = (isMul ? n.inputs.map((t) => shapes.get(t)?.shape) : []) as (Dims | undefined)[];
    // the gate's input slot and the width to repeat it to (x * g, else g * x)
    const right = isMul ? gateWidth(a, b) : undefined;
    const left = isMul && right === undefined ? gateWidth(b, a) : undefined;
    const width = right ?? left;
    if (width === undefined) {
      nodes.push(n);
      continue;
    }
    const side = right !== undefined ? 1 : 0;
    const gate = n.inputs[side]!;
    let shape = widthShape.get(width);
    if (!shape) {
      shape = names.next(`gate_width_${width}`);
      widthShape.set(width, shape);
      inits.push(makeInt64Tensor(shape, [1, 1, width, 1]));
    }
    const base = n.name || `Mul_${index}`;
    const last = names.next(`${gate}.by_width`);
    const channelsLast = names.next(`${gate}.channels_last`);
    const repeated = names.next(`${gate}.repeated`);
    nodes.push(
      makeNode('Transpose', [gate], [channelsLast], { name: names.next(`${base}.gate_channels_last`), attributes: [makeAttribute('perm', [0, 2, 3, 1])] }),
      makeNode('Expand', [channelsLast, shape], [repeated], { name: names.next(`${base}.gate_expand`) }),
      makeNode('Transpose', [repeated], [last], { name: names.next(`${base}.gate_by_width`), attributes: [makeAttribute('perm', [0, 3, 1, 2])] }),
      { ...n, inputs: n.inputs.map((t, i) => (i === side ? last : t)) },
    );
    widened.push({ node: n.name || `Mul#${index}`, gate, width });
  }
  if (widened.length === 0) return { model, widened };
  return { model: withGraph(model, { nodes, initializers: [...g.initializers, ...inits] }), widened };
}
