import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { attr, attrInts, findInitializer, makeNode } from '../../lib/onnx/graph.js';
import { serializeModel } from '../../lib/onnx/io.js';
import type { OnnxModel } from '../../lib/onnx/model.js';
import { simplifyUnitMaps } from '../../lib/onnx/simplify.js';
import { tensorToFloat32 } from '../../lib/onnx/tensor.js';
import { synthetic } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import '../../lib/backends/onnxruntime/index.js'; // registers the statistics host calibration runs in
import { model, randomFeeds, seeded, weight } from '../quant/helpers.js';

/** x[N,4,hw,hw] -> Conv(4->6, 3x3, pads) -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> y. */
function tail(hw: number, pads: number[], group = 1): OnnxModel {
  const rnd = seeded(4);
  return model(
    [
      makeNode('Conv', ['x', 'w', 'b'], ['c'], { name: 'conv', attributes: [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', pads), attr.int('group', group)] }),
      makeNode('Relu', ['c'], ['r'], { name: 'relu' }),
      makeNode('GlobalAveragePool', ['r'], ['g'], { name: 'gap' }),
      makeNode('Flatten', ['g'], ['f'], { name: 'flatten' }),
      makeNode('Gemm', ['f', 'wf'], ['y'], { name: 'fc', attributes: [attr.int('transB', 1)] }),
    ],
    [weight('w', [6, 4 / group, 3, 3], rnd), weight('b', [6], rnd), weight('wf', [5, 6], rnd)],
    { name: 'x', dims: ['N', 4, hw, hw] },
    [{ name: 'y', dims: ['N', 5] }],
  );
}

async function run(m: OnnxModel, x: Float32Array, hw: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(serializeModel(m));
  const out = (await s.run({ x: new ort.Tensor('float32', x, [3, 4, hw, hw]) })).y!.data as Float32Array;
  await s.release();
  return out;
}

describe('simplifyUnitMaps (lib/onnx/simplify.ts)', () => {
  for (const [pads, tap, group] of [[[1, 1, 1, 1], [1, 1], 1], [[2, 0, 0, 2], [2, 0], 1], [[1, 1, 1, 1], [1, 1], 2]] as const) {
    it(`turns a 3x3 conv over a 1x1 map (pads ${pads.join(',')}, group ${group}) into the 1x1 conv of tap ${tap.join(',')} and drops the 1x1 GlobalAveragePool`, async () => {
      const m = tail(1, [...pads], group);
      const { model: s, simplified } = simplifyUnitMaps(m);
      expect(simplified.map((e) => e.node)).toEqual(['conv', 'gap']);
      const conv = s.graph.nodes.find((n) => n.opType === 'Conv')!;
      expect(attrInts(conv, 'kernel_shape')).toEqual([1, 1]);
      expect(attrInts(conv, 'pads')).toBeUndefined();
      const w = tensorToFloat32(findInitializer(s.graph, conv.inputs[1]!)!);
      const w0 = tensorToFloat32(findInitializer(m.graph, 'w')!);
      const I = 4 / group;
      expect(w[1 * I + 1]).toBe(w0[((1 * I + 1) * 3 + tap[0]) * 3 + tap[1]]); // output channel 1, input channel 1
      expect(s.graph.nodes.some((n) => n.opType === 'GlobalAveragePool')).toBe(false);
      expect(s.graph.nodes.find((n) => n.opType === 'Flatten')!.inputs).toEqual(['r']);
      const [x] = randomFeeds(1, [3, 4, 1, 1], 9);
      const a = await run(m, x!, 1);
      const b = await run(s, x!, 1);
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
    });
  }

  it('quantizeModel applies it before placing Q/DQ and reports it', async () => {
    const q = await quantizeModel(tail(1, [1, 1, 1, 1]), { precision: 'int8', data: synthetic({ shape: [4, 1, 1], count: 8 }), algorithm: 'minmax', batchSize: 8 });
    expect(q.report.simplified!.map((e) => e.note)).toEqual([
      '3x3 convolution over a 1x1 map reads one tap: rewritten as the 1x1 convolution with tap (1, 1)',
      'GlobalAveragePool over a 1x1 map is the identity: removed',
    ]);
    expect(q.report.qdq!.quantized.map((e) => e.node)).toEqual(['conv', 'fc']);
  });

  it('leaves convs and pools over larger maps alone', () => {
    const m = tail(2, [1, 1, 1, 1]);
    const r = simplifyUnitMaps(m);
    expect(r.simplified).toEqual([]);
    expect(r.model).toBe(m);
  });
});
