import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { attr, attrInt, findInitializer, makeNode } from '../../lib/onnx/graph.js';
import { serializeModel } from '../../lib/onnx/io.js';
import type { OnnxModel } from '../../lib/onnx/model.js';
import { padDepthwiseChannels } from '../../lib/onnx/pad-channels.js';
import { tensorToFloat32 } from '../../lib/onnx/tensor.js';
import { synthetic } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import { ORT_DISABLED_OPTIMIZERS } from '../../lib/onnx/qdq.js';
import '../../lib/backends/onnxruntime/index.js'; // registers the statistics host calibration runs in
import { model, randomFeeds, seeded, weight } from '../quant/helpers.js';

const HW = 6;

/**
 * x[N,8,6,6] -> pw1 1x1 (8->c, bias) -> `up` -> dw 3x3 (c, bias) -> `down` -> pw2 1x1 (c->8) -> GAP -> Flatten -> y.
 * `extra` adds a second reader of the depthwise output, which must stop the rewrite.
 */
function block(c: number, up = 'Relu', down = 'Clip', extra: boolean | 'se' = false): OnnxModel {
  const rnd = seeded(c);
  const clipBounds = up === 'Clip' || down === 'Clip' ? [weight('lo', [], () => 0, 1), weight('hi', [], () => 6, 1)] : [];
  const act = (op: string, x: string, y: string) => makeNode(op, op === 'Clip' ? [x, 'lo', 'hi'] : [x], [y], { name: `${y}_op` });
  const nodes = [
    makeNode('Conv', ['x', 'w1', 'b1'], ['p'], { name: 'pw1', attributes: [attr.ints('kernel_shape', [1, 1])] }),
    act(up, 'p', 'pa'),
    makeNode('Conv', ['pa', 'wd', 'bd'], ['d'], { name: 'dw', attributes: [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.int('group', c)] }),
    act(down, 'd', extra === 'se' ? 'ds' : 'da'),
    // squeeze-excitation: GAP -> fc1 -> Relu -> fc2 -> HardSigmoid -> Mul
    ...(extra === 'se'
      ? [
          makeNode('GlobalAveragePool', ['ds'], ['sp'], { name: 'se_pool' }),
          makeNode('Conv', ['sp', 'wf1', 'bf1'], ['s1'], { name: 'se_fc1', attributes: [attr.ints('kernel_shape', [1, 1])] }),
          makeNode('Relu', ['s1'], ['s1r'], { name: 'se_relu' }),
          makeNode('Conv', ['s1r', 'wf2', 'bf2'], ['s2'], { name: 'se_fc2', attributes: [attr.ints('kernel_shape', [1, 1])] }),
          makeNode('HardSigmoid', ['s2'], ['gate'], { name: 'se_gate' }),
          makeNode('Mul', ['ds', 'gate'], ['da'], { name: 'se_scale' }),
        ]
      : []),
    makeNode('Conv', ['da', 'w2'], ['q'], { name: 'pw2', attributes: [attr.ints('kernel_shape', [1, 1])] }),
    makeNode('GlobalAveragePool', ['q'], ['g'], { name: 'gap' }),
    makeNode('Flatten', ['g'], ['y'], { name: 'flatten' }),
  ];
  const outputs = [{ name: 'y', dims: ['N', 8] as (number | string)[] }];
  if (extra === true) {
    nodes.push(makeNode('GlobalAveragePool', ['d'], ['e'], { name: 'gap2' }));
    outputs.push({ name: 'e', dims: ['N', c, 1, 1] });
  }
  return model(
    nodes,
    [
      ...[weight('w1', [c, 8, 1, 1], rnd), weight('b1', [c], rnd), weight('wd', [c, 1, 3, 3], rnd), weight('bd', [c], rnd), weight('w2', [8, c, 1, 1], rnd), ...clipBounds],
      ...(extra === 'se' ? [weight('wf1', [4, c, 1, 1], rnd), weight('bf1', [4], rnd), weight('wf2', [c, 4, 1, 1], rnd), weight('bf2', [c], rnd)] : []),
    ],
    { name: 'x', dims: ['N', 8, HW, HW] },
    outputs,
  );
}

async function run(m: OnnxModel, x: Float32Array, options: ort.InferenceSession.SessionOptions = {}): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(serializeModel(m), options);
  const out = (await s.run({ x: new ort.Tensor('float32', x, [2, 8, HW, HW]) })).y!.data as Float32Array;
  await s.release();
  return out;
}

describe('padDepthwiseChannels (lib/onnx/pad-channels.ts)', () => {
  const x = randomFeeds(1, [2, 8, HW, HW], 3)[0]!;

  for (const [up, down] of [['Relu', 'Clip'], ['HardSwish', 'Identity'], ['Sigmoid', 'Relu']] as const) {
    it(`pads a 20-channel depthwise conv to 32 between 1x1 convs (${up} before, ${down} after) and leaves the output unchanged`, async () => {
      const m = block(20, up, down);
      const { model: p, padded } = padDepthwiseChannels(m);
      expect(padded).toEqual([{ node: 'dw', producer: 'pw1', consumer: 'pw2', from: 20, to: 32 }]);
      expect(findInitializer(p.graph, 'w1')!.dims).toEqual([32, 8, 1, 1]);
      expect(findInitializer(p.graph, 'b1')!.dims).toEqual([32]);
      expect(findInitializer(p.graph, 'wd')!.dims).toEqual([32, 1, 3, 3]);
      expect(findInitializer(p.graph, 'w2')!.dims).toEqual([8, 32, 1, 1]);
      expect(attrInt(p.graph.nodes.find((n) => n.name === 'dw')!, 'group')).toBe(32);
      // the new channels are zero, the old ones where they were
      const w2 = tensorToFloat32(findInitializer(p.graph, 'w2')!);
      const w2o = tensorToFloat32(findInitializer(m.graph, 'w2')!);
      expect(w2[1 * 32 + 5]).toBe(w2o[1 * 20 + 5]);
      expect(Array.from(w2.subarray(1 * 32 + 20, 2 * 32)).every((v) => v === 0)).toBe(true);
      const [a, b] = [await run(m, x), await run(p, x)];
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
    });
  }

  it('pads through a squeeze-excitation after the depthwise conv (its two 1x1 convs widened) and leaves the output unchanged', async () => {
    const m = block(20, 'HardSwish', 'HardSwish', 'se');
    const { model: p, padded } = padDepthwiseChannels(m);
    expect(padded).toEqual([{ node: 'dw', producer: 'pw1', consumer: 'pw2', from: 20, to: 32 }]);
    expect(findInitializer(p.graph, 'wf1')!.dims).toEqual([4, 32, 1, 1]);
    expect(findInitializer(p.graph, 'wf2')!.dims).toEqual([32, 4, 1, 1]);
    expect(findInitializer(p.graph, 'bf2')!.dims).toEqual([32]);
    const [a, b] = [await run(m, x), await run(p, x)];
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
  });

  it('leaves alone a multiple of 16, a depthwise output read twice, and a chain through an op that is not elementwise', () => {
    expect(padDepthwiseChannels(block(32)).padded).toEqual([]);
    const shared = block(20, 'Relu', 'Clip', true);
    expect(padDepthwiseChannels(shared).padded).toEqual([]);
    const pooled = block(20, 'GlobalAveragePool');
    expect(padDepthwiseChannels(pooled).model).toBe(pooled);
  });

  it('an int8 build for ONNX Runtime pads (the report says so), keeps the FP32 answer within int8 error, and gives the depthwise Conv 32 groups; padChannels: false does not', async () => {
    const m = block(20);
    const q = await quantizeModel(m, { precision: 'int8', data: synthetic({ shape: [8, HW, HW], count: 32, seed: 5, distribution: 'normal' }), calibSize: 32, batchSize: 16 });
    expect(q.report.paddedChannels).toEqual([{ node: 'dw', producer: 'pw1', consumer: 'pw2', from: 20, to: 32 }]);
    expect(q.report.path).toContain('1 depthwise convolution padded to a multiple of 16 channels');
    const dw = q.model.graph.nodes.find((n) => n.name === 'dw')!;
    expect(attrInt(dw, 'group')).toBe(32);
    const [a, b] = [await run(m, x), await run(q.model, x, { extra: { 'optimization.disable_specified_optimizers': ORT_DISABLED_OPTIMIZERS.join(';') } } as never)];
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i]! - b[i]!) ** 2;
      den += a[i]! ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(0.05);
    const off = await quantizeModel(m, { precision: 'int8', data: synthetic({ shape: [8, HW, HW], count: 32, seed: 5, distribution: 'normal' }), calibSize: 32, batchSize: 16, padChannels: false });
    expect(off.report.paddedChannels).toBeUndefined();
    expect(attrInt(off.model.graph.nodes.find((n) => n.name === 'dw')!, 'group')).toBe(20);
  });
});
