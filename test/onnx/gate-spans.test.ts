import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attr, findInitializer, makeNode } from '../../lib/onnx/graph.js';
import { loadModel, serializeModel } from '../../lib/onnx/io.js';
import type { OnnxModel } from '../../lib/onnx/model.js';
import { widenChannelGates } from '../../lib/onnx/gate-spans.js';
import { inferShapes } from '../../lib/onnx/check.js';
import { tensorToArray } from '../../lib/onnx/tensor.js';
import { ORT_DISABLED_OPTIMIZERS } from '../../lib/onnx/qdq.js';
import { mobilenetV3Small } from '../../lib/models/index.js';
import { synthetic } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import '../../lib/backends/onnxruntime/index.js'; // registers the statistics host calibration runs in
import { model, seeded, weight } from '../quant/helpers.js';

/**
 * x[N,6,5,7] -> conv c; gate: GAP(c) -> fc -> Sigmoid g [N,6,1,1]; y1 = c * g, y2 = g * c (the gate on either side);
 * y3 = c * c (no gate); y4 = c * k (k a constant [1,6,1,1]: not an activation).
 */
function gated(width: number | string = 7): OnnxModel {
  const rnd = seeded(3);
  return model(
    [
      makeNode('Conv', ['x', 'w', 'b'], ['c'], { name: 'conv', attributes: [attr.ints('kernel_shape', [1, 1])] }),
      makeNode('GlobalAveragePool', ['c'], ['p'], { name: 'pool' }),
      makeNode('Conv', ['p', 'wf', 'bf'], ['e'], { name: 'fc', attributes: [attr.ints('kernel_shape', [1, 1])] }),
      makeNode('Sigmoid', ['e'], ['g'], { name: 'gate' }),
      makeNode('Mul', ['c', 'g'], ['y1'], { name: 'scale' }),
      makeNode('Mul', ['g', 'c'], ['y2'], { name: 'scale_left' }),
      makeNode('Mul', ['c', 'c'], ['y3'], { name: 'square' }),
      makeNode('Mul', ['c', 'k'], ['y4'], { name: 'constant' }),
    ],
    [weight('w', [6, 6, 1, 1], rnd), weight('b', [6], rnd), weight('wf', [6, 6, 1, 1], rnd), weight('bf', [6], rnd), weight('k', [1, 6, 1, 1], rnd)],
    { name: 'x', dims: ['N', 6, 5, width] },
    ['y1', 'y2', 'y3', 'y4'].map((name) => ({ name, dims: ['N', 6, 5, width] })),
  );
}

async function run(m: OnnxModel, x: ort.Tensor): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(serializeModel(m));
  const out = await s.run({ x });
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

describe('channel gates repeated along the width (lib/onnx/gate-spans.ts)', () => {
  it('rewrites x * g and g * x of a per-channel gate into Transpose -> Expand [1,1,W,1] -> Transpose, with the same outputs', async () => {
    const m = gated();
    const { model: w, widened } = widenChannelGates(m);
    expect(widened).toEqual([
      { node: 'scale', gate: 'g', width: 7 },
      { node: 'scale_left', gate: 'g', width: 7 },
    ]);
    const scale = w.graph.nodes.find((n) => n.name === 'scale')!;
    const chain: string[] = [];
    for (let t = scale.inputs[1]!; t !== 'g'; ) {
      const p = w.graph.nodes.find((n) => n.outputs[0] === t)!;
      chain.unshift(p.opType);
      if (p.opType === 'Expand') expect(Array.from(tensorToArray(findInitializer(w.graph, p.inputs[1]!)!), Number)).toEqual([1, 1, 7, 1]);
      t = p.inputs[0]!;
    }
    expect(chain).toEqual(['Transpose', 'Expand', 'Transpose']);
    expect(w.graph.nodes.find((n) => n.name === 'scale_left')!.inputs[1]).toBe('c'); // x stays where it was
    // the gate read by the Mul is [N,6,1,7]: the Mul broadcasts over H only
    expect(inferShapes(w).shapes.get(scale.inputs[1]!)?.shape).toEqual(['N', 6, 1, 7]);
    for (const n of ['square', 'constant']) expect(w.graph.nodes.find((x) => x.name === n)).toEqual(m.graph.nodes.find((x) => x.name === n));
    const rnd = seeded(9);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 6 * 35 }, () => rnd() * 4), [2, 6, 5, 7]);
    const a = await run(m, x);
    const b = await run(w, x);
    for (const y of ['y1', 'y2', 'y3', 'y4']) expect(Array.from(b[y]!)).toEqual(Array.from(a[y]!));
  });

  it('leaves a gate alone when the width is not a known number above 1', () => {
    expect(widenChannelGates(gated('W')).widened).toEqual([]);
    expect(widenChannelGates(gated(1)).widened).toEqual([]);
  });

  it("quantized for ONNX Runtime: the Expand runs on uint8 and ORT's optimizer removes the added Transposes", { timeout: 120_000 }, async () => {
    const shape: [number, number, number] = [3, 48, 48];
    const fp32 = mobilenetV3Small({ inputShape: shape, classes: 10, seed: 1 });
    const build = (widenGates: boolean) => quantizeModel(fp32, { precision: 'int8', data: synthetic({ shape, count: 8, seed: 2, distribution: 'normal' }), calibSize: 8, batchSize: 8, widenGates });
    const [plain, wide] = [await build(false), await build(true)];
    expect(plain.report.widenedGates).toBeUndefined();
    expect(wide.report.widenedGates!.length).toBe(9); // the excitations of blocks 1, 4-11
    expect(wide.report.methods).toContain("9 channel gates repeated along the width (ONNX Runtime's int8 Mul broadcasts one pixel at a time)");
    expect(wide.report.qdq.int8.filter((e) => e.opType === 'Expand')).toHaveLength(9);
    const ops = async (m: OnnxModel) => {
      const file = join(mkdtempSync(join(tmpdir(), 'trtn-gate-spans-')), 'optimized.onnx');
      const s = await ort.InferenceSession.create(serializeModel(m), { graphOptimizationLevel: 'all', optimizedModelFilePath: file, extra: { 'optimization.disable_specified_optimizers': ORT_DISABLED_OPTIMIZERS.join(';') }, logSeverityLevel: 3 } as ort.InferenceSession.SessionOptions);
      await s.release();
      const counts: Record<string, number> = {};
      for (const n of loadModel(readFileSync(file)).graph.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
      return counts;
    };
    const [a, b] = [await ops(plain.model), await ops(wide.model)];
    expect(b.Expand).toBe(9);
    expect(b.Transpose ?? 0).toBe(a.Transpose ?? 0);
    expect(b.DequantizeLinear).toBeUndefined();
    expect(b.QLinearMul).toBe(a.QLinearMul);
  });
});
