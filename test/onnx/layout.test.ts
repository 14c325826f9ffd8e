import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { attr, makeNode } from '../../lib/onnx/graph.js';
import { serializeModel } from '../../lib/onnx/io.js';
import { flattenNhwc } from '../../lib/onnx/layout.js';
import { planQdqForTarget } from '../../lib/onnx/qdq.js';
import type { OnnxModel } from '../../lib/onnx/model.js';
import { model, randomFeeds, seeded, weight } from '../quant/helpers.js';

/** x[N,4,6,6] -> Conv(4->4, 3x3 pad 1) -> Relu -> MaxPool 2x2 -> Flatten -> head(s) reading [N, 36]. */
function convHead(head: 'gemmT' | 'gemm' | 'matmul' | 'softmax', pool = 2): OnnxModel {
  const rnd = seeded(11);
  const k = 4 * (6 / pool) * (6 / pool);
  const headNode =
    head === 'gemmT'
      ? makeNode('Gemm', ['f', 'wh', 'bh'], ['y'], { name: 'fc', attributes: [attr.int('transB', 1)] })
      : head === 'gemm'
        ? makeNode('Gemm', ['f', 'wh'], ['y'], { name: 'fc' })
        : head === 'matmul'
          ? makeNode('MatMul', ['f', 'wh'], ['y'], { name: 'fc' })
          : makeNode('Softmax', ['f'], ['y'], { name: 'sm', attributes: [attr.int('axis', 1)] });
  const inits = [weight('wc', [4, 4, 3, 3], rnd)];
  if (head === 'gemmT') inits.push(weight('wh', [5, k], rnd), weight('bh', [5], rnd));
  if (head === 'gemm' || head === 'matmul') inits.push(weight('wh', [k, 5], rnd));
  return model(
    [
      makeNode('Conv', ['x', 'wc'], ['c'], { name: 'conv', attributes: [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])] }),
      makeNode('Relu', ['c'], ['r'], { name: 'relu' }),
      makeNode('MaxPool', ['r'], ['p'], { name: 'pool', attributes: [attr.ints('kernel_shape', [pool, pool]), attr.ints('strides', [pool, pool])] }),
      makeNode('Flatten', ['p'], ['f'], { name: 'flatten' }),
      headNode,
    ],
    inits,
    { name: 'x', dims: ['N', 4, 6, 6] },
    [{ name: 'y', dims: ['N', head === 'softmax' ? k : 5] }],
  );
}

async function run(m: OnnxModel, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(serializeModel(m));
  const out = await s.run({ x: new ort.Tensor('float32', x, [2, 4, 6, 6]) });
  await s.release();
  return out.y!.data as Float32Array;
}

describe('flattenNhwc (lib/onnx/layout.ts)', () => {
  const [x] = randomFeeds(1, [2, 4, 6, 6], 5);

  for (const head of ['gemmT', 'gemm', 'matmul'] as const) {
    it(`reads NHWC before a ${head} head and computes the same function`, async () => {
      const m = convHead(head);
      const { model: r, rewrites } = flattenNhwc(m, new Set(['flatten']));
      expect(rewrites).toEqual([{ node: 'flatten', note: expect.stringMatching(/^reads NHWC: Transpose\(0,2,3,1\) added, the input dimension of fc permuted/) }]);
      const t = r.graph.nodes.find((n) => n.opType === 'Transpose')!;
      expect(t.inputs).toEqual(['p']);
      expect(r.graph.nodes.find((n) => n.opType === 'Flatten')!.inputs).toEqual(t.outputs);
      expect(r.graph.initializers.some((w) => w.name === 'wh')).toBe(false); // replaced by the permuted copy
      const a = await run(m, x!);
      const b = await run(r, x!);
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 4);
    });
  }

  it('on a 1x1 map adds the Transpose only: the weights stay, the function is the same', async () => {
    const m = convHead('gemmT', 6);
    const { model: r, rewrites } = flattenNhwc(m, new Set(['flatten']));
    expect(rewrites).toEqual([{ node: 'flatten', note: 'reads NHWC: Transpose(0,2,3,1) added on the 1x1 map (same order, weights unchanged)' }]);
    expect(r.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'MaxPool', 'Transpose', 'Flatten', 'Gemm']);
    expect(r.graph.nodes.find((n) => n.name === 'fc')!.inputs).toEqual(['f', 'wh', 'bh']);
    expect(Array.from(await run(r, x!))).toEqual(Array.from(await run(m, x!)));
  });

  it('leaves a Flatten alone when a reader is not a weight product, or it is not asked for', () => {
    expect(flattenNhwc(convHead('softmax'), new Set(['flatten'])).rewrites).toEqual([]);
    const m = convHead('gemmT');
    expect(flattenNhwc(m, new Set()).model).toBe(m);
  });

  it('planQdqForTarget rewrites an int8 Flatten for ONNX Runtime only, and the Transpose shares the scale', () => {
    const m = convHead('gemmT');
    const ort8 = planQdqForTarget(m);
    expect(ort8.plan.report.layout?.map((e) => e.node)).toEqual(['flatten']);
    const t = ort8.model.graph.nodes.find((n) => n.opType === 'Transpose')!;
    expect(ort8.plan.scaleSource.get(t.outputs[0]!)).toBe('r'); // through MaxPool and the Transpose: the Relu output's scale
    expect(ort8.plan.scaleSource.get('f')).toBe('r');
    expect(ort8.plan.report.int8.map((e) => e.opType)).toContain('Transpose');
    expect(ort8.plan.calibrate.sort()).toEqual(planQdqForTarget(m, { target: 'tensorrt' }).plan.calibrate.sort());
    const trt = planQdqForTarget(m, { target: 'tensorrt' });
    expect(trt.model).toBe(m);
    expect(trt.plan.report.layout).toBeUndefined();
  });
});
