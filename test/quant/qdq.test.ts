import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attr, getAttribute, makeNode } from '../../lib/onnx/graph.js';
import { loadModel, serializeModel } from '../../lib/onnx/io.js';
import { DataType } from '../../lib/onnx/model.js';
import { makeInt64Tensor, tensorToArray } from '../../lib/onnx/tensor.js';
import { insertQdq, ORT_DISABLED_OPTIMIZERS_KEY, planQdq, quantizeWeightPerChannel, weightAxis } from '../../lib/onnx/qdq.js';
import { fashionMnist, subset } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import '../../lib/backends/onnxruntime/index.js'; // calibration's statistics host
import { model, randomFeeds, residualModel, seeded, weight } from './helpers.js';

const FIXTURE = (m: string) => `test/fixtures/models/fmnist_${m}.onnx`;
const count = (nodes: { opType: string }[], op: string) => nodes.filter((n) => n.opType === op).length;

describe('Q/DQ placement on a small residual model built here', () => {
  const m = residualModel();
  const plan = planQdq(m);

  it('quantizes the compute ops with per-channel weights and lists what stays float', () => {
    expect(plan.report.quantized.map((e) => [e.node, e.weightAxis])).toEqual([['conv1', 0], ['conv2', 0], ['fc', 0]]);
    expect(plan.report.int8.map((e) => e.node)).toEqual(['relu1', 'add', 'relu2', 'pool', 'gap', 'flatten']);
    expect(plan.report.float).toEqual([{ node: 'softmax', opType: 'Softmax', reason: 'Softmax has no int8 kernel in this placement' }]);
    // logits feed Softmax only, which reads float: the Gemm writes float (QGemm with float output), no Q/DQ there.
    // c1 and s are read by their Relu only: no Q/DQ between producer and Relu (ORT folds producer -> Relu -> Q)
    expect(plan.activations).toEqual(['x', 'r1', 'c2', 'r2', 'p', 'g', 'f']);
    expect(plan.scaleSource.has('c1')).toBe(false);
    // p/f share through MaxPool/Flatten; the residual Add's second input c2 has its own
    expect(plan.scaleSource.get('p')).toBe('r2');
    expect(plan.scaleSource.get('f')).toBe('g');
    expect(plan.calibrate.sort()).toEqual(['c2', 'g', 'r1', 'r2', 'x'].sort());
    // Relu outputs and the average of a non-negative tensor cannot be negative; x and c2 can
    expect([...plan.nonNegative].sort()).toEqual(['g', 'r1', 'r2']);
    // TensorRT keeps a Q/DQ pair on the producer's output, at the Relu's scale (TensorRT fuses it into the layer)
    const trt = planQdq(m, { target: 'tensorrt' });
    expect(trt.activations).toEqual(['x', 'c1', 'r1', 'c2', 's', 'r2', 'p', 'g', 'f', 'logits']);
    expect(trt.scaleSource.get('c1')).toBe('r1');
    expect(trt.scaleSource.get('s')).toBe('r2');
    // TensorRT quantizes the Gemm's output too: it fuses the output quantization into the layer
    expect(trt.calibrate.sort()).toEqual([...plan.calibrate, 'logits'].sort());
  });

  it('inserts one Q per activation and one DQ per reader, int8 weights + int32 bias behind DQ nodes, and runs close to FP32', async () => {
    const scales = new Map(plan.calibrate.map((t) => [t, 4 / 127]));
    const { model: q } = insertQdq(m, scales);
    const nodes = q.graph.nodes;
    expect(count(nodes, 'QuantizeLinear')).toBe(7);
    expect(count(nodes, 'DequantizeLinear')).toBe(8 + 3 + 2); // one per reader (r1 feeds conv2 and the Add) + 3 weights + int32 biases of conv1, fc
    // ORT form: uint8 everywhere; zero point 128 for signed tensors, 0 for non-negative ones over [0, amax]
    const init = (name: string) => q.graph.initializers.find((t) => t.name === name)!;
    const qOf = (t: string) => nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === t)!;
    expect(nodes.filter((n) => n.opType === 'QuantizeLinear').every((n) => init(n.inputs[2]!).dataType === DataType.UINT8)).toBe(true);
    expect(['x', 'c2'].map((t) => Array.from(tensorToArray(init(qOf(t).inputs[2]!)) as Iterable<number>)[0])).toEqual([128, 128]);
    expect(['r1', 'r2', 'g'].map((t) => Array.from(tensorToArray(init(qOf(t).inputs[2]!)) as Iterable<number>)[0])).toEqual([0, 0, 0]);
    expect(Array.from(tensorToArray(init(qOf('r1').inputs[1]!)) as Iterable<number>)[0]).toBe(Math.fround((4 / 127) * (127 / 255)));
    expect(Array.from(tensorToArray(init(qOf('x').inputs[1]!)) as Iterable<number>)[0]).toBe(Math.fround(4 / 127));
    // the model asks ONNX Runtime not to move Q/DQ across float ops (see ORT_DISABLED_OPTIMIZERS)
    expect(q.metadataProps).toContainEqual({ key: ORT_DISABLED_OPTIMIZERS_KEY, value: 'QDQPropagationTransformer' });
    const weightDq = nodes.filter((n) => n.opType === 'DequantizeLinear' && n.inputs[0]!.startsWith('w'));
    expect(weightDq.map((n) => getAttribute(n, 'axis')?.i)).toEqual([0, 0, 0]);
    const w1 = q.graph.initializers.find((t) => t.name === weightDq[0]!.inputs[0])!;
    expect(w1.dataType).toBe(DataType.INT8);
    const b1 = q.graph.initializers.find((t) => t.name.startsWith('b1_quantized'))!;
    expect(b1.dataType).toBe(DataType.INT32);
    // producer -> Relu -> Q: ONNX Runtime drops the Relu (zero point 0 clamps) and fuses the producer
    expect(count(nodes, 'Relu')).toBe(2);
    expect(nodes[nodes.findIndex((n) => n.name === 'relu1') - 1]!.name).toBe('conv1');
    const trtPlan = planQdq(m, { target: 'tensorrt' });
    const trtModel = insertQdq(m, new Map(trtPlan.calibrate.map((t) => [t, 4 / 127])), { target: 'tensorrt', plan: trtPlan }).model;
    const trt = trtModel.graph.nodes;
    expect(trtModel.metadataProps ?? []).not.toContainEqual(expect.objectContaining({ key: ORT_DISABLED_OPTIMIZERS_KEY }));
    expect(count(trt, 'Relu')).toBe(2);
    expect(count(trt, 'QuantizeLinear')).toBe(10 + 3); // weights stay float behind Q -> DQ
    expect(trt.some((n) => n.inputs[0]!.startsWith('b1'))).toBe(false); // bias stays a float input of conv1

    const [x] = randomFeeds(1, [2, 4, 8, 8]);
    const feeds = { x: new ort.Tensor('float32', x!, [2, 4, 8, 8]) };
    const s32 = await ort.InferenceSession.create(serializeModel(m));
    const s8 = await ort.InferenceSession.create(serializeModel(q));
    const a = (await s32.run(feeds)).probs!.data as Float32Array;
    const b = (await s8.run(feeds)).probs!.data as Float32Array;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(0.05);
  });

  it('picks the per-channel axis per op and quantizes weights symmetrically per channel', () => {
    const rnd = seeded(3);
    const mk = (op: string, attrs = {}) => makeNode(op, ['x', 'w'], ['y'], { name: op, attributes: attrs });
    expect(weightAxis(mk('Conv'))).toBe(0);
    expect(weightAxis(mk('ConvTranspose'))).toBe(1);
    expect(weightAxis(mk('Gemm', { transB: 1 }))).toBe(0);
    expect(weightAxis(mk('Gemm'))).toBe(1);
    expect(weightAxis(mk('MatMul'))).toBe(1);
    // [K=2, N=3] along axis 1: channel c = column c
    const { q, scales } = quantizeWeightPerChannel(new Float32Array([1, -0.5, 0.25, -2, 0.5, 0.125]), [2, 3], 1);
    expect(Array.from(scales)).toEqual([2 / 127, 0.5 / 127, 0.25 / 127].map(Math.fround));
    expect(Array.from(q)).toEqual([64, -127, 127, -127, 127, 64]); // 63.5 -> 64 (half to even), 1 -> 127
    // MatMul with a [K,N] initializer and Gemm transB=0 get axis 1 in the model
    const mm = model(
      [makeNode('MatMul', ['x', 'w'], ['h'], { name: 'mm' }), makeNode('Gemm', ['h', 'g'], ['y'], { name: 'gemm' }), makeNode('Relu', ['y'], ['out'], { name: 'r' })],
      [weight('w', [4, 6], rnd), weight('g', [6, 5], rnd)],
      { name: 'x', dims: ['N', 4] },
      [{ name: 'out', dims: ['N', 5] }],
    );
    const p = planQdq(mm);
    expect(p.report.quantized.map((e) => [e.opType, e.weightAxis])).toEqual([['MatMul', 1], ['Gemm', 1]]);
    expect(p.report.float.map((e) => e.node)).toEqual(['r']); // its output is the graph output
    const qm = insertQdq(mm, new Map(p.calibrate.map((t) => [t, 0.01]))).model;
    const wdq = qm.graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && getAttribute(n, 'axis'));
    expect(wdq.map((n) => getAttribute(n, 'axis')!.i)).toEqual([1, 1]);
  });

  it('reports compute ops it cannot quantize instead of skipping them silently', () => {
    const mm = model(
      [makeNode('MatMul', ['x', 'x2'], ['y'], { name: 'dynamic_mm' }), makeNode('Conv', ['y', 'w'], ['z'], { name: 'excluded_conv' })],
      [weight('w', [2, 1, 1, 1], seeded(1))],
      { name: 'x', dims: [1, 1, 2, 2] },
      [{ name: 'z', dims: [1, 2, 2, 2] }],
    );
    mm.graph.nodes.unshift(makeNode('Transpose', ['x'], ['x2'], { name: 't', attributes: [attr.ints('perm', [0, 1, 3, 2])] }));
    const p = planQdq(mm, { exclude: ['excluded_conv'] });
    expect(p.report.quantized).toEqual([]);
    expect(p.report.float.map((e) => [e.node, e.reason])).toEqual([
      ['t', 'its input is float'],
      ['dynamic_mm', 'its weight is not a constant initializer'],
      ['excluded_conv', 'excluded by the caller'],
    ]);
    expect(() => planQdq({ ...mm, opsetImport: [{ domain: '', version: 11 }] })).toThrow(/opset >= 13/);
    expect(() => insertQdq(residualModel(), new Map())).toThrow(/no scale for tensor/);
  });
});

describe('a Gemm or MatMul output nothing reads as int8 (ONNX Runtime)', () => {
  // x[N,8] -> Gemm g1 -> Mul(1/sqrt2) -> Erf -> e;  x -> MatMul m1 -> Reshape -> r;  MatMul(r, e') float;  x -> Gemm g2 -> Add(g2, g3) int8
  const rnd = seeded(11);
  const mm = model(
    [
      makeNode('Gemm', ['x', 'w1'], ['g1'], { name: 'g1', attributes: [attr.int('transB', 1)] }),
      makeNode('Mul', ['g1', 'inv_sqrt2'], ['s'], { name: 'scale' }),
      makeNode('Erf', ['s'], ['e'], { name: 'erf' }),
      makeNode('MatMul', ['x', 'w2'], ['m1'], { name: 'm1' }),
      makeNode('Reshape', ['m1', 'shape'], ['r'], { name: 'reshape' }),
      makeNode('Mul', ['r', 'e'], ['p'], { name: 'product' }),
      makeNode('Gemm', ['x', 'w3'], ['g2'], { name: 'g2', attributes: [attr.int('transB', 1)] }),
      makeNode('Gemm', ['x', 'w4'], ['g3'], { name: 'g3', attributes: [attr.int('transB', 1)] }),
      makeNode('Add', ['g2', 'g3'], ['a'], { name: 'add' }),
      makeNode('Relu', ['a'], ['ar'], { name: 'relu' }),
      makeNode('Gemm', ['ar', 'w5'], ['g4'], { name: 'g4', attributes: [attr.int('transB', 1)] }),
      makeNode('Add', ['p', 'g4'], ['y'], { name: 'out' }),
    ],
    [weight('w1', [8, 8], rnd), weight('inv_sqrt2', [], () => Math.SQRT1_2, 1), weight('w2', [8, 8], rnd), makeInt64Tensor('shape', [0, 8]), weight('w3', [8, 8], rnd), weight('w4', [8, 8], rnd), weight('w5', [8, 8], rnd)],
    { name: 'x', dims: ['N', 8] },
    [{ name: 'y', dims: ['N', 8] }],
  );

  it('writes float from the Gemm/MatMul (no Q, its pass-through readers float with the reason) and keeps Q where an int8 op reads it', async () => {
    const plan = planQdq(mm);
    expect(plan.report.quantized.map((e) => e.node)).toEqual(['g1', 'm1', 'g2', 'g3', 'g4']);
    // g1 feeds a folded constant Mul whose output only Erf reads; m1 a Reshape only a float Mul reads: no Q on either
    expect(plan.activations).not.toContain('g1');
    expect(plan.activations).not.toContain('m1');
    expect(plan.report.float).toContainEqual({ node: 'scale', opType: 'Mul', reason: 'its input stays float: the Gemm/MatMul before it writes float, as nothing after it reads int8' });
    expect(plan.report.float).toContainEqual({ node: 'reshape', opType: 'Reshape', reason: 'its input stays float: the Gemm/MatMul before it writes float, as nothing after it reads int8' });
    // g2 and g3 feed a QLinearAdd, whose Relu output feeds g4: all int8
    expect(plan.activations).toEqual(expect.arrayContaining(['x', 'g2', 'g3', 'ar']));
    expect(plan.report.int8.map((e) => e.node)).toEqual(['add', 'relu']);
    // TensorRT fuses output quantization into the layer: it keeps them
    expect(planQdq(mm, { target: 'tensorrt' }).activations).toEqual(expect.arrayContaining(['g1', 'm1']));
    const q = insertQdq(mm, new Map(plan.calibrate.map((t) => [t, 3 / 127])), { plan }).model;
    expect(q.graph.nodes.filter((n) => n.opType === 'QuantizeLinear').map((n) => n.inputs[0]).sort()).toEqual(['ar', 'g2', 'g3', 'x']);
    const x = randomFeeds(1, [4, 8], 5)[0]!;
    const run = async (m: typeof mm) => {
      const s = await ort.InferenceSession.create(serializeModel(m));
      const y = (await s.run({ x: new ort.Tensor('float32', x, [4, 8]) })).y!.data as Float32Array;
      await s.release();
      return y;
    };
    const [a, b] = [await run(mm), await run(q)];
    const err = Math.sqrt(a.reduce((acc, v, i) => acc + (v - b[i]!) ** 2, 0) / a.reduce((acc, v) => acc + v * v, 0));
    expect(err).toBeLessThan(0.1);
  });
});

describe('quantizeModel on the Fashion-MNIST cnn fixture', () => {
  it('places Q/DQ that ONNX Runtime fuses into integer kernels, keeps accuracy, and round-trips the cache', async () => {
    const train = await fashionMnist({ split: 'train' });
    const test = await fashionMnist({ split: 'test' });
    const dir = mkdtempSync(join(tmpdir(), 'quant-'));
    const cache = join(dir, 'cnn.cache');
    const fp32 = loadModel(FIXTURE('cnn'));
    const result = await quantizeModel(fp32, { precision: 'int8', data: train, calibSize: 256, algorithm: 'minmax', cache });
    // with a cache only the data-free rewrite applies (the cache alone must rebuild this model)
    expect(result.report.path).toBe('qdq-int8 (minmax, 256 images; cross-layer equalization (3 pairs))');
    // the first conv reads 1 channel: it stays float (see minConvInputChannels), and so do its Relu and MaxPool
    expect(result.report.qdq!.quantized.map((e) => e.opType)).toEqual(['Conv', 'Gemm', 'Gemm']);
    expect(result.report.qdq!.float.map((e) => [e.opType, e.reason])).toEqual([
      ['Conv', expect.stringMatching(/^1 input channel \(< 4\)/)],
      ['Relu', 'its input is float'],
      ['MaxPool', 'its input is float'],
    ]);
    const nodes = result.model.graph.nodes;
    expect(count(nodes, 'QuantizeLinear')).toBe(result.report.qdq!.activations.length);
    expect(result.report.qdq!.activations).not.toContain('logits'); // graph output stays float
    // the cache holds exactly the calibrated scales and reproduces the same model
    const text = readFileSync(cache, 'utf8');
    expect(text.split('\n')[0]).toBe('TRT-8601-MinMaxCalibration');
    expect(text.trim().split('\n')).toHaveLength(1 + result.scales.size);
    const again = await quantizeModel(fp32, { precision: 'int8', cache });
    expect(again.report.scalesFrom).toBe('cache');
    expect(serializeModel(again.model)).toEqual(serializeModel(result.model));
    await expect(quantizeModel(fp32, { precision: 'int8', cache: new TextEncoder().encode('TRT-8601-EntropyCalibration2\ninput: 3c010204\n') })).rejects.toMatchObject({
      code: 'ERR_CALIB_CACHE',
      message: expect.stringMatching(/no scale for tensor '\/f\/f\.2\/MaxPool_output_0' \(and 2 more\)/),
    });

    const optimized = join(dir, 'opt.onnx');
    // the session config the model carries (what the onnxruntime backend passes)
    const disabled = result.model.metadataProps!.find((e) => e.key === ORT_DISABLED_OPTIMIZERS_KEY)!.value;
    const s8 = await ort.InferenceSession.create(serializeModel(result.model), {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: optimized,
      logSeverityLevel: 3, // ORT warns that an optimized model it saves is hardware specific: known, and wanted here
      intraOpNumThreads: 1,
      extra: { 'optimization.disable_specified_optimizers': disabled },
    });
    const opt = loadModel(optimized).graph.nodes;
    expect(count(opt, 'QLinearConv')).toBe(1);
    expect(count(opt, 'QGemm')).toBe(2);
    // Relus are folded into the integer kernels: no Relu/LeakyRelu pass is left
    expect(count(opt, 'QLinearLeakyRelu') + count(opt, 'Relu') + count(opt, 'LeakyRelu')).toBe(0);
    expect(count(opt, 'Gemm') + count(opt, 'DequantizeLinear')).toBe(0); // nothing else in float
    expect(opt.filter((n) => n.opType === 'Conv')).toHaveLength(1); // the 1-channel first conv, fused with its Relu
    // the first MaxPool reads the float conv and stays float (ORT's NCHWc kernel), not a uint8 NCHW MaxPool; the second
    // runs on uint8 in NHWC after the QLinearConv
    expect(opt.filter((n) => n.opType === 'MaxPool').map((n) => n.domain)).toEqual(['com.microsoft.nchwc']);
    expect(count(opt, 'NhwcMaxPool')).toBe(1);
    // the Flatten reads the NHWC pooled map (lib/onnx/layout.ts): one Transpose into the NHWC chain, none out of it
    expect(result.report.qdq!.layout?.map((e) => e.node)).toEqual(['/h/h.0/Flatten']);
    expect(count(opt, 'Transpose')).toBe(1);
    expect(opt[opt.findIndex((n) => n.opType === 'Flatten') - 1]!.opType).toBe('NhwcMaxPool');
    const s32 = await ort.InferenceSession.create(serializeModel(fp32), { intraOpNumThreads: 1 });
    let agree = 0;
    let correct32 = 0;
    let correct8 = 0;
    const evalSet = subset(test, 500, { seed: 1 });
    for await (const b of evalSet.batches({ batchSize: 100 })) {
      const f = b.feeds.input!;
      const feeds = { input: new ort.Tensor('float32', f.data as Float32Array, [...f.dims]) };
      const l32 = (await s32.run(feeds)).logits!.data as Float32Array;
      const l8 = (await s8.run(feeds)).logits!.data as Float32Array;
      for (let r = 0; r < f.dims[0]!; r++) {
        const arg = (l: Float32Array) => {
          let best = 0;
          for (let c = 1; c < 10; c++) if (l[r * 10 + c]! > l[r * 10 + best]!) best = c;
          return best;
        };
        const a = arg(l32);
        const c8 = arg(l8);
        if (a === c8) agree++;
        if (a === b.labels![r]) correct32++;
        if (c8 === b.labels![r]) correct8++;
      }
    }
    expect(agree / 500).toBeGreaterThan(0.97);
    expect(Math.abs(correct32 - correct8) / 500).toBeLessThanOrEqual(0.01);
  });
});
