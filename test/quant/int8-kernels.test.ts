import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attr, makeNode } from '../../lib/onnx/graph.js';
import { loadModel, serializeModel } from '../../lib/onnx/io.js';
import { makeTensor, tensorToFloat32 } from '../../lib/onnx/tensor.js';
import { decomposeHardActivations } from '../../lib/onnx/hard-activations.js';
import { insertQdq, ORT_DISABLED_OPTIMIZERS, planQdq, planQdqForTarget } from '../../lib/onnx/qdq.js';
import { efficientnetB0, mobilenetV3Small, shufflenetV2 } from '../../lib/models/index.js';
import { synthetic } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import type { PlacementTimer } from '../../lib/quantize/placement.js';
import '../../lib/backends/onnxruntime/index.js';
import { model, seeded, weight } from './helpers.js';

const run = async (m: ReturnType<typeof model>, feeds: Record<string, ort.Tensor>) => {
  const s = await ort.InferenceSession.create(serializeModel(m));
  const out = await s.run(feeds);
  await s.release();
  return out;
};

describe('HardSwish / HardSigmoid rewritten into Add, Clip and Mul (lib/onnx/hard-activations.ts)', () => {
  const m = model(
    [
      makeNode('HardSwish', ['x'], ['hswish'], { name: 'hswish' }),
      makeNode('HardSigmoid', ['x'], ['hsig'], { name: 'hsig', attributes: [attr.float('alpha', 0.2), attr.float('beta', 0.4)] }),
      makeNode('HardSigmoid', ['x'], ['neg'], { name: 'neg', attributes: [attr.float('alpha', -0.5), attr.float('beta', 0.5)] }),
    ],
    [],
    { name: 'x', dims: [2, 8, 5, 5] },
    [{ name: 'hswish', dims: [2, 8, 5, 5] }, { name: 'hsig', dims: [2, 8, 5, 5] }, { name: 'neg', dims: [2, 8, 5, 5] }],
  );

  it('computes what the original ops compute (float32 rounding apart); alpha <= 0 is left alone', async () => {
    const { model: d, rewrites } = decomposeHardActivations(m);
    expect(rewrites.map((r) => [r.node, r.opType])).toEqual([['hswish', 'HardSwish'], ['hsig', 'HardSigmoid']]);
    expect(d.graph.nodes.map((n) => n.opType)).toEqual(['Add', 'Clip', 'Mul', 'Mul', 'Add', 'Clip', 'Mul', 'HardSigmoid']);
    const rnd = seeded(3);
    // values across both knees of both activations
    const x = new ort.Tensor('float32', Float32Array.from({ length: 400 }, () => rnd() * 16), [2, 8, 5, 5]);
    const a = await run(m, { x });
    const b = await run(d, { x });
    for (const t of ['hswish', 'hsig', 'neg']) {
      const p = a[t]!.data as Float32Array;
      const q = b[t]!.data as Float32Array;
      expect(Math.max(...p.map((v, i) => Math.abs(v - q[i]!)))).toBeLessThan(1e-6);
    }
    // a name listed in keep stays as it was
    expect(decomposeHardActivations(m, new Set(['hswish'])).rewrites.map((r) => r.node)).toEqual(['hsig']);
  });

  it("a HardSigmoid that alone reads a Conv's output takes no Add: beta/alpha goes into the Conv's bias (same outputs)", async () => {
    const rnd = seeded(5);
    // gate: conv1 -> HardSigmoid (its only reader); shared: conv2 -> HardSigmoid and -> the output; nobias: conv3 without
    // a bias -> HardSigmoid; hswish: conv4 -> HardSwish (reads x twice, keeps its Add)
    const conv = (name: string, bias: boolean) => makeNode('Conv', ['x', `w_${name}`, ...(bias ? [`b_${name}`] : [])], [name], { name });
    const se = model(
      [
        conv('c1', true),
        makeNode('HardSigmoid', ['c1'], ['gate'], { name: 'gate', attributes: [attr.float('alpha', 0.2), attr.float('beta', 0.4)] }),
        conv('c2', true),
        makeNode('HardSigmoid', ['c2'], ['shared'], { name: 'shared' }),
        conv('c3', false),
        makeNode('HardSigmoid', ['c3'], ['nobias'], { name: 'nobias' }),
        conv('c4', true),
        makeNode('HardSwish', ['c4'], ['hswish'], { name: 'hswish' }),
      ],
      ['c1', 'c2', 'c3', 'c4'].flatMap((c) => [weight(`w_${c}`, [6, 4, 1, 1], rnd, 4), weight(`b_${c}`, [6], rnd, 4)]),
      { name: 'x', dims: [2, 4, 3, 3] },
      ['gate', 'shared', 'c2', 'nobias', 'hswish'].map((name) => ({ name, dims: [2, 6, 3, 3] })),
    );
    const { model: d, rewrites } = decomposeHardActivations(se);
    expect(rewrites.map((r) => [r.node, r.first.split('.')[1], r.biasOf])).toEqual([
      ['gate', 'clip', 'c1'],
      ['shared', 'add', undefined],
      ['nobias', 'clip', 'c3'],
      ['hswish', 'add', undefined],
    ]);
    expect(d.graph.nodes.filter((n) => n.opType === 'Add').map((n) => n.name)).toEqual(['shared.add', 'hswish.add']);
    // the replaced bias is gone; c3 got one
    expect(d.graph.initializers.some((t) => t.name === 'b_c1')).toBe(false);
    expect(d.graph.nodes.find((n) => n.name === 'c3')!.inputs).toHaveLength(3);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 72 }, () => rnd() * 4), [2, 4, 3, 3]);
    const a = await run(se, { x });
    const b = await run(d, { x });
    for (const t of ['gate', 'shared', 'c2', 'nobias', 'hswish']) {
      const p = a[t]!.data as Float32Array;
      const q = b[t]!.data as Float32Array;
      expect(p.some((v) => v > 0 && v < 1)).toBe(true); // between the knees somewhere: the offset matters
      expect(Math.max(...p.map((v, i) => Math.abs(v - q[i]!)))).toBeLessThan(1e-5);
    }
  });
});

describe('Q/DQ for SiLU, squeeze-excitation and HardSwish (ONNX Runtime QLinearSigmoid / QLinearMul)', () => {
  // x -> Conv c -> SiLU (c * Sigmoid(c)) -> Conv d -> HardSwish (decomposed) -> GlobalAveragePool -> Flatten -> Gemm
  const rnd = seeded(11);
  const m = decomposeHardActivations(
    model(
      [
        makeNode('Conv', ['x', 'w1', 'b1'], ['c'], { name: 'conv1', attributes: [attr.ints('pads', [1, 1, 1, 1])] }),
        makeNode('Sigmoid', ['c'], ['sig'], { name: 'sigmoid' }),
        makeNode('Mul', ['c', 'sig'], ['silu'], { name: 'silu' }),
        makeNode('Conv', ['silu', 'w2', 'b2'], ['d'], { name: 'conv2' }),
        makeNode('HardSwish', ['d'], ['h'], { name: 'hswish' }),
        makeNode('GlobalAveragePool', ['h'], ['g'], { name: 'gap' }),
        makeNode('Flatten', ['g'], ['f'], { name: 'flatten' }),
        makeNode('Gemm', ['f', 'wf', 'bf'], ['logits'], { name: 'fc', attributes: [attr.int('transB', 1)] }),
      ],
      [weight('w1', [8, 4, 3, 3], rnd), weight('b1', [8], rnd), weight('w2', [8, 8, 1, 1], rnd), weight('b2', [8], rnd), weight('wf', [5, 8], rnd), weight('bf', [5], rnd)],
      { name: 'x', dims: ['N', 4, 6, 6] },
      [{ name: 'logits', dims: ['N', 5] }],
    ),
  ).model;
  const plan = planQdq(m);
  const nodeName = (op: string, prefix: string) => m.graph.nodes.find((n) => n.opType === op && n.name.startsWith(prefix))!;
  const gate = nodeName('Mul', 'hswish.alpha');
  const clip = nodeName('Clip', 'hswish.clip');

  it('runs Sigmoid, both Muls and the Add on int8; Sigmoid and the HardSigmoid Clip get their known ranges, not calibrated ones', () => {
    expect(plan.report.float).toEqual([]);
    expect(plan.report.int8.map((e) => e.opType)).toEqual(['Sigmoid', 'Mul', 'Add', 'Clip', 'Mul', 'Mul', 'GlobalAveragePool', 'Flatten']);
    expect(plan.fixedAmax).toEqual(new Map([['sig', 1], [clip.outputs[0]!, 6]]));
    expect(plan.calibrate).not.toContain('sig');
    expect(plan.calibrate).not.toContain(clip.outputs[0]);
    // the Mul by 1/6 is folded into the scale its readers dequantize with
    expect(plan.folded).toEqual(new Map([[gate.name, clip.outputs[0]!]]));
    expect(plan.scaleFactor!.get(gate.outputs[0]!)).toBe(Math.fround(1 / 6)); // the float32 constant
    // the TensorRT placement is unchanged: Sigmoid and Mul stay float there
    expect(planQdq(m, { target: 'tensorrt' }).report.float.map((e) => e.opType)).toContain('Sigmoid');
  });

  it('writes the folded scale, quantizes the Add constant, and ONNX Runtime fuses every op into an integer kernel', async () => {
    const { model: q } = insertQdq(m, new Map(plan.calibrate.map((t) => [t, 4 / 127])), { plan });
    const nodes = q.graph.nodes;
    expect(nodes.some((n) => n.name === gate.name)).toBe(false);
    const init = (name: string) => tensorToFloat32(q.graph.initializers.find((t) => t.name === name)!)[0]!;
    const qClip = nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === clip.outputs[0])!;
    expect(init(qClip.inputs[1]!)).toBe(Math.fround(6 / 255));
    const dqGate = nodes.find((n) => n.opType === 'DequantizeLinear' && n.inputs[0] === qClip.outputs[0] && n.name.includes('hswish.mul'))!;
    expect(init(dqGate.inputs[1]!)).toBeCloseTo(1 / 255, 9);
    const qSig = nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === 'sig')!;
    expect(init(qSig.inputs[1]!)).toBe(Math.fround(1 / 255));
    const add = nodes.find((n) => n.opType === 'Add')!;
    expect(add.inputs.every((t) => nodes.some((n) => n.opType === 'DequantizeLinear' && n.outputs[0] === t))).toBe(true);
    const ops = await optimizedOps(q);
    expect(ops['com.microsoft:QLinearSigmoid']).toBe(1);
    expect(ops['com.microsoft:QLinearMul']).toBe(2);
    expect(ops['com.microsoft:QLinearAdd']).toBe(1);
    expect(ops['com.microsoft:QLinearGlobalAveragePool']).toBe(1);
    for (const op of ['Sigmoid', 'Mul', 'Add', 'Clip', 'DequantizeLinear']) expect(ops[op], op).toBeUndefined();
    // and it computes the model: logits close to FP32
    const rnd2 = seeded(5);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 4 * 36 }, () => rnd2() * 2), [2, 4, 6, 6]);
    const a = (await run(m, { x })).logits!.data as Float32Array;
    const b = (await run(q, { x })).logits!.data as Float32Array;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(0.1 * Math.max(...a.map(Math.abs)));
  });
});

/** The graph ONNX Runtime optimized for this CPU. */
async function optimizedGraph(m: ReturnType<typeof model>): Promise<ReturnType<typeof model>> {
  const file = join(mkdtempSync(join(tmpdir(), 'trtn-int8-kernels-')), 'optimized.onnx');
  const s = await ort.InferenceSession.create(serializeModel(m), {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: file,
    extra: { 'optimization.disable_specified_optimizers': ORT_DISABLED_OPTIMIZERS.join(';') },
    logSeverityLevel: 3,
  } as ort.InferenceSession.SessionOptions);
  await s.release();
  return loadModel(readFileSync(file));
}

/** Op counts ('domain:op' outside the default domain) of the graph ONNX Runtime optimized for this CPU. */
async function optimizedOps(m: ReturnType<typeof model>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const n of (await optimizedGraph(m)).graph.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('MobileNetV3-Small and EfficientNet-B0 quantized for ONNX Runtime run their activations on int8', () => {
  for (const [name, make] of [['mobilenet_v3_small', mobilenetV3Small], ['efficientnet_b0', efficientnetB0]] as const) {
    it(`${name}: no DequantizeLinear survives ORT's optimizer; what stays float is only what the report lists`, { timeout: 120_000 }, async () => {
      const shape: [number, number, number] = [3, 48, 48];
      const fp32 = make({ inputShape: shape, classes: 10, seed: 1 });
      const q = await quantizeModel(fp32, { precision: 'int8', data: synthetic({ shape, count: 8, seed: 2, distribution: 'normal' }), calibSize: 8, batchSize: 8 });
      const ops = await optimizedOps(q.model);
      expect(ops.DequantizeLinear).toBeUndefined();
      const int8 = (op: string) => q.report.qdq!.int8.filter((e) => e.opType === op).length;
      expect(ops['com.microsoft:QLinearGlobalAveragePool']).toBe(int8('GlobalAveragePool'));
      const reportedFloat = (op: string) => q.report.qdq!.float.filter((e) => e.opType === op).length;
      for (const op of ['HardSwish', 'HardSigmoid', 'Sigmoid', 'Mul', 'Add', 'GlobalAveragePool']) expect(ops[op] ?? 0, op).toBeLessThanOrEqual(reportedFloat(op));
      if (name === 'mobilenet_v3_small') {
        // the first HardSwish reads the float first convolution: kept whole (ORT fuses it into that Conv)
        expect(q.report.hardActivations!.length).toBe(19 + 9 - 1);
        expect(q.report.qdq!.float.map((e) => e.opType).sort()).toEqual(['Conv', 'HardSwish']);
      } else {
        expect(ops['com.microsoft:QLinearSigmoid']).toBe(int8('Sigmoid'));
        expect(int8('Sigmoid')).toBe(65 - 1);
      }
      // TensorRT keeps HardSwish / HardSigmoid as they are
      const trt = await quantizeModel(fp32, { precision: 'int8', target: 'tensorrt', data: synthetic({ shape, count: 8, seed: 2, distribution: 'normal' }), calibSize: 8, batchSize: 8 });
      expect(trt.report.hardActivations).toBeUndefined();
    });
  }
});


describe('measured placement on a model with rewritten HardSwish', () => {
  it('times FP32 as given (HardSwish whole, which ORT fuses into the float Conv) and returns it when nothing stays int8', { timeout: 120_000 }, async () => {
    const shape: [number, number, number] = [3, 32, 32];
    const fp32 = mobilenetV3Small({ inputShape: shape, classes: 10, seed: 1 });
    const opened: { hardSwish: number; quantize: number }[] = [];
    // a timer where any Q/DQ costs: the int8 placements all lose to float
    const timer: PlacementTimer = async (candidate) => {
      const count = (op: string) => candidate.graph.nodes.filter((n) => n.opType === op).length;
      opened.push({ hardSwish: count('HardSwish'), quantize: count('QuantizeLinear') });
      const ms = count('QuantizeLinear') > 0 ? 2 : 1;
      return { time: async () => ms, release: async () => {} };
    };
    const q = await quantizeModel(fp32, { precision: 'int8', data: synthetic({ shape, count: 8, seed: 2, distribution: 'normal' }), calibSize: 8, batchSize: 8, placement: 'measured', measure: { timer, rounds: 1, patience: 2, budgetSeconds: 30 } });
    // the first model timed is the FP32 reference: every HardSwish whole, no Q/DQ
    expect(opened[0]).toEqual({ hardSwish: 19, quantize: 0 });
    expect(opened.slice(1).every((o) => o.hardSwish <= 1 && o.quantize > 0)).toBe(true);
    expect(q.report.path).toMatch(/^fp32 \(int8 requested, no layer kept on int8/);
    expect(q.model.graph.nodes.filter((n) => n.opType === 'HardSwish')).toHaveLength(19);
    expect(q.model.graph.nodes.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'Clip')).toBe(false);
    // and the report describes that model: no rewrite listed, each HardSwish float as itself
    expect(q.report.hardActivations).toBeUndefined();
    expect(q.report.paddedChannels).toBeUndefined();
    expect((q.report.methods ?? []).filter((m) => /HardSwish|padded|shuffle/.test(m))).toEqual([]);
    expect(q.report.qdq!.float.filter((e) => e.opType === 'HardSwish')).toHaveLength(19);
    expect(q.report.qdq!.float.some((e) => e.opType === 'Clip')).toBe(false);
  });
});

describe('channel split and shuffle run on int8 for ONNX Runtime (the ShuffleNetV2 pattern)', () => {
  // x -> Conv+Relu -> Split halves -> (x1, Conv+Relu(x2)) -> Concat -> shuffle (Reshape, Transpose, Reshape) -> Conv+Relu
  // -> GlobalAveragePool -> Flatten -> Gemm
  const rnd = seeded(21);
  const conv = (name: string, x: string, w: string, y: string) => [makeNode('Conv', [x, w], [`${y}.c`], { name }), makeNode('Relu', [`${y}.c`], [y], { name: `${name}.relu` })];
  const int64 = (name: string, v: number[]) => makeTensor(name, BigInt64Array.from(v.map(BigInt)), [v.length]);
  const m = model(
    [
      ...conv('conv1', 'x', 'w1', 'a'),
      makeNode('Split', ['a', 'halves'], ['x1', 'x2'], { name: 'split', attributes: [attr.int('axis', 1)] }),
      ...conv('branch', 'x2', 'w2', 'b'),
      makeNode('Concat', ['x1', 'b'], ['cat'], { name: 'concat', attributes: [attr.int('axis', 1)] }),
      makeNode('Reshape', ['cat', 'groups'], ['g5'], { name: 'shuffle.reshape' }),
      makeNode('Transpose', ['g5'], ['t5'], { name: 'shuffle.transpose', attributes: [attr.ints('perm', [0, 2, 1, 3, 4])] }),
      makeNode('Reshape', ['t5', 'flat'], ['s'], { name: 'shuffle.flat' }),
      ...conv('conv2', 's', 'w3', 'd'),
      makeNode('GlobalAveragePool', ['d'], ['p'], { name: 'gap' }),
      makeNode('Flatten', ['p'], ['f'], { name: 'flatten' }),
      makeNode('Gemm', ['f', 'wf', 'bf'], ['logits'], { name: 'fc', attributes: [attr.int('transB', 1)] }),
    ],
    [weight('w1', [8, 8, 1, 1], rnd), int64('halves', [4, 4]), weight('w2', [4, 4, 1, 1], rnd), int64('groups', [0, 2, 4, 6, 6]), int64('flat', [0, 8, 6, 6]), weight('w3', [8, 8, 1, 1], rnd), weight('wf', [5, 8], rnd), weight('bf', [5], rnd)],
    { name: 'x', dims: ['N', 8, 6, 6] },
    [{ name: 'logits', dims: ['N', 5] }],
  );
  const scalesOf = (plan: ReturnType<typeof planQdq>) => new Map(plan.calibrate.map((t) => [t, 3 / 127]));

  it('places Split, Concat and the shuffle on int8 (Split shares its input scale); TensorRT keeps Split float', () => {
    const plan = planQdq(m);
    expect(plan.report.float).toEqual([]);
    expect(plan.report.int8.map((e) => e.opType)).toEqual(expect.arrayContaining(['Split', 'Concat', 'Reshape', 'Transpose']));
    expect(plan.scaleSource.get('x1')).toBe('a');
    expect(plan.scaleSource.get('x2')).toBe('a');
    expect(planQdq(m, { target: 'tensorrt' }).report.float.map((e) => e.opType)).toContain('Split');
  });

  it('ONNX Runtime runs it with no DequantizeLinear left, and the int8 Split gives exactly what a float Split between DQ and Q gives', async () => {
    const plan = planQdq(m);
    const { model: q } = insertQdq(m, scalesOf(plan), { plan });
    const ops = await optimizedOps(q);
    expect(ops.DequantizeLinear).toBeUndefined();
    expect(ops.QuantizeLinear).toBe(1); // the graph input only
    expect(ops['com.microsoft:QLinearConcat']).toBe(1);
    expect(ops.Concat).toBeUndefined();
    expect(ops.Split).toBe(1);
    // Split kept float: DQ -> Split -> Q with the same scale round-trips each int8 value, so the results are identical
    const floatSplit = planQdq(m, { exclude: ['split'] });
    expect(floatSplit.report.float.map((e) => e.node)).toContain('split');
    const { model: qf } = insertQdq(m, scalesOf(floatSplit), { plan: floatSplit });
    const r = seeded(4);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 8 * 36 }, () => r() * 4), [2, 8, 6, 6]);
    const a = (await run(q, { x })).logits!.data as Float32Array;
    const b = (await run(qf, { x })).logits!.data as Float32Array;
    expect(Array.from(a)).toEqual(Array.from(b));
    const f = (await run(m, { x })).logits!.data as Float32Array;
    expect(Math.max(...f.map((v, i) => Math.abs(v - a[i]!)))).toBeLessThan(0.1 * Math.max(...f.map(Math.abs)));
  });

  it('ShuffleNetV2 quantized for ONNX Runtime: no DequantizeLinear survives, every Concat is a QLinearConcat, every Split runs on uint8', { timeout: 120_000 }, async () => {
    const shape: [number, number, number] = [3, 48, 48];
    const fp32 = shufflenetV2({ inputShape: shape, classes: 10, seed: 1 });
    const q = await quantizeModel(fp32, { precision: 'int8', data: synthetic({ shape, count: 8, seed: 2, distribution: 'normal' }), calibSize: 8, batchSize: 8 });
    // only the RGB stem stays float: its Conv, and the Relu and MaxPool reading it
    expect(q.report.qdq!.float.map((e) => e.opType).sort()).toEqual(['Conv', 'MaxPool', 'Relu']);
    expect(q.report.qdq!.layout?.map((e) => e.node)).toEqual(['flatten']);
    const g = (await optimizedGraph(q.model)).graph.nodes;
    const count = (op: string) => g.filter((n) => n.opType === op).length;
    expect(count('DequantizeLinear')).toBe(0);
    expect(count('QuantizeLinear')).toBe(1); // after the float stem
    // the channel shuffles became Splits and Concats (lib/onnx/shuffle.ts): every one of them runs on uint8
    expect(q.report.channelShuffles).toHaveLength(16);
    expect(count('QLinearConcat')).toBe(q.model.graph.nodes.filter((n) => n.opType === 'Concat').length);
    expect(count('Concat')).toBe(0);
    expect(count('Split')).toBe(q.model.graph.nodes.filter((n) => n.opType === 'Split').length);
    // channels-last from the stem to the classifier: one layout Transpose, after the float stem
    expect(count('Transpose')).toBe(1);
  });

  it('a pooled 1x1 map read by the classifier stays NHWC: no uint8 Transpose back to NCHW before the Flatten', async () => {
    const { model: rewritten, plan } = planQdqForTarget(m);
    expect(plan.report.layout).toEqual([{ node: 'flatten', note: expect.stringMatching(/1x1 map/) }]);
    // same weights: on a 1x1 map (c) and (h, w, c) order are the same
    expect(rewritten.graph.nodes.find((n) => n.name === 'fc')!.inputs).toEqual(['f', 'wf', 'bf']);
    const { model: q } = insertQdq(rewritten, scalesOf(plan), { plan });
    const { model: q0 } = insertQdq(m, scalesOf(planQdq(m)), { plan: planQdq(m) });
    const g = (await optimizedGraph(q)).graph.nodes;
    const gap = g.find((n) => n.opType === 'QLinearGlobalAveragePool')!;
    expect(gap.attributes.find((a) => a.name === 'channels_last')?.i).toBe(1);
    // its input comes straight from the convolution's NHWC output
    expect(g.find((n) => n.outputs.includes(gap.inputs[0]!))!.opType).toBe('QLinearConv');
    const transposes = (nodes: typeof g) => nodes.filter((n) => n.opType === 'Transpose').length;
    expect(transposes(g)).toBe(transposes((await optimizedGraph(q0)).graph.nodes) - 1);
    const r = seeded(5);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 8 * 36 }, () => r() * 4), [2, 8, 6, 6]);
    expect(Array.from((await run(q, { x })).logits!.data as Float32Array)).toEqual(Array.from((await run(q0, { x })).logits!.data as Float32Array));
  });
});
