import { describe, expect, test } from 'vitest';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { isTrtnError, TrtnError } from '../../lib/errors.js';
import {
  checkModel, exposeTensors, foldBatchNorm, inferShapes, insertNodes, loadModel, makeNode, makeTensor, serializeModel,
  setInitializer, topologicalSort, replaceNode, uniqueName, findConsumers, findProducer, inspectModel, attr,
} from '../../lib/onnx/index.js';
import { cnn, mobilenetV1, resnet50, vgg16 } from '../../lib/models/index.js';

const CNN = join('test/fixtures/models', 'fmnist_cnn.onnx');

function parseError(f: () => unknown): TrtnError {
  try { f(); } catch (e) {
    expect(isTrtnError(e, 'ERR_ONNX_PARSE')).toBe(true);
    return e as TrtnError;
  }
  throw new Error('expected ERR_ONNX_PARSE');
}

async function run(bytes: Uint8Array, shape: number[]) {
  const s = await ort.InferenceSession.create(bytes);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.13) * 2);
  const out = await s.run({ input: new ort.Tensor('float32', data, shape) });
  await s.release();
  return out;
}

describe('checkModel', () => {
  const model = loadModel(CNN);
  test('a node moved before its producer is reported as out of order, naming both', () => {
    const nodes = [...model.graph.nodes];
    const [moved] = nodes.splice(3, 1);
    nodes.unshift(moved!);
    const err = parseError(() => checkModel({ ...model, graph: { ...model.graph, nodes } }));
    expect(err.message).toContain(moved!.opType);
    expect(err.message).toMatch(/topological order/);
    expect(err.details.node).toBe(moved!.name);
    // topologicalSort repairs the order, after which the model checks again
    const sorted = topologicalSort({ ...model.graph, nodes });
    expect(sorted.map((n) => n.name)).toEqual(model.graph.nodes.map((n) => n.name));
  });
  test('a dangling input names the node and the tensor', () => {
    const i = model.graph.nodes.findIndex((n) => n.opType === 'Gemm');
    const bad = replaceNode(model, i, { ...model.graph.nodes[i]!, inputs: ['nowhere', ...model.graph.nodes[i]!.inputs.slice(1)] });
    const err = parseError(() => checkModel(bad));
    expect(err.message).toContain("'nowhere'");
    expect(err.details.opType).toBe('Gemm');
    expect(err.details.index).toBe(i);
  });
  test('duplicate outputs, unproduced graph outputs and bad shapes are rejected', () => {
    const conv = model.graph.nodes[0]!;
    const dup = insertNodes(model, [makeNode('Relu', [conv.outputs[0]!], [conv.outputs[0]!], { name: 'dup' })], { after: 0 });
    expect(parseError(() => checkModel(dup)).message).toMatch(/already defined/);
    const noOut = { ...model, graph: { ...model.graph, outputs: [{ name: 'ghost' }] } };
    expect(parseError(() => checkModel(noOut)).message).toContain("'ghost'");
    const w = model.graph.initializers.find((t) => t.name === conv.inputs[1])!;
    const wrongW = setInitializer(model, makeTensor(w.name, new Float32Array(w.dims[0]! * 2 * 9), [w.dims[0]!, 2, 3, 3]));
    const err = parseError(() => checkModel(wrongW));
    expect(err.details.opType).toBe('Conv');
    expect(err.message).toMatch(/channels/);
  });
  test('inferShapes follows conv/pool arithmetic (hand-computed 28 -> 14 -> 7)', () => {
    const shapes = inferShapes(cnn()).shapes;
    expect(shapes.get('conv1.out')?.shape).toEqual(['N', 16, 28, 28]);
    expect(shapes.get('pool1.out')?.shape).toEqual(['N', 16, 14, 14]);
    expect(shapes.get('pool2.out')?.shape).toEqual(['N', 32, 7, 7]);
    expect(shapes.get('flatten.out')?.shape).toEqual(['N', 1568]);
    expect(shapes.get('logits')?.shape).toEqual(['N', 10]);
  });
  test('Reshape with a constant shape, Concat, MatMul, Q/DQ and Cast infer', () => {
    const base = cnn();
    const extra = [
      makeNode('Reshape', ['pool2.out', 'shape'], ['r']),
      makeNode('Concat', ['r', 'r'], ['cat'], { attributes: [attr.int('axis', 1)] }),
      makeNode('MatMul', ['cat', 'mm_w'], ['mm']),
      makeNode('QuantizeLinear', ['mm', 'scale', 'zp'], ['q']),
      makeNode('DequantizeLinear', ['q', 'scale', 'zp'], ['dq']),
      makeNode('Cast', ['dq'], ['c'], { attributes: [attr.int('to', 10)] }),
    ];
    let m = insertNodes(base, extra);
    m = setInitializer(m, makeTensor('shape', BigInt64Array.from([0n, -1n]), [2]));
    m = setInitializer(m, makeTensor('mm_w', new Float32Array(3136 * 5), [3136, 5]));
    m = setInitializer(m, makeTensor('scale', new Float32Array([0.1]), []));
    m = setInitializer(m, makeTensor('zp', new Int8Array([0]), []));
    const s = inferShapes(m).shapes;
    expect(s.get('r')?.shape).toEqual(['N', 1568]);
    expect(s.get('cat')?.shape).toEqual(['N', 3136]);
    expect(s.get('mm')?.shape).toEqual(['N', 5]);
    expect(s.get('q')).toEqual({ elemType: 3, shape: ['N', 5] });
    expect(s.get('dq')).toEqual({ elemType: 1, shape: ['N', 5] });
    expect(s.get('c')?.elemType).toBe(10);
  });
});

describe('graph utilities', () => {
  const model = loadModel(CNN);
  test('producers, consumers and unique names', () => {
    const conv = model.graph.nodes[0]!;
    expect(findProducer(model.graph, conv.outputs[0]!)?.node).toBe(conv);
    expect(findConsumers(model.graph, conv.outputs[0]!).map((u) => u.node.opType)).toEqual(['Relu']);
    expect(findConsumers(model.graph, 'input')).toHaveLength(1);
    const name = uniqueName(model.graph, 'input');
    expect(name).toBe('input_1');
  });
  test('edits are pure: the input model is unchanged', () => {
    const before = serializeModel(model);
    insertNodes(model, [makeNode('Identity', ['logits'], ['x'])]);
    replaceNode(model, 0, []);
    setInitializer(model, makeTensor('z', new Float32Array(2), [2]));
    foldBatchNorm(model);
    exposeTensors(model, 'all');
    expect(Buffer.compare(Buffer.from(serializeModel(model)), Buffer.from(before))).toBe(0);
  });
});

describe('foldBatchNorm', () => {
  const cases = [
    ['cnn + BN', cnn({ batchNorm: true, seed: 3 }), [2, 1, 28, 28]],
    ['vgg16 (conv bias + BN)', vgg16({ inputShape: [3, 32, 32], classes: 10, fcWidth: 64, seed: 4 }), [2, 3, 32, 32]],
    ['mobilenet_v1 (depthwise)', mobilenetV1({ inputShape: [3, 32, 32], classes: 10, alpha: 0.25, seed: 5 }), [2, 3, 32, 32]],
    ['resnet50 (residual)', resnet50({ inputShape: [3, 32, 32], classes: 10, seed: 6 }), [1, 3, 32, 32]],
  ] as const;
  for (const [label, model, shape] of cases) {
    test(`${label}: every BN is folded and ORT outputs match within 1e-4 (relative to the logit scale)`, async () => {
      const folded = foldBatchNorm(model);
      expect(inspectModel(folded).opCounts.BatchNormalization).toBeUndefined();
      expect(inspectModel(model).opCounts.BatchNormalization).toBeGreaterThan(0);
      checkModel(folded);
      const a = (await run(serializeModel(model), [...shape])).logits!.data as Float32Array;
      const b = (await run(serializeModel(folded), [...shape])).logits!.data as Float32Array;
      const scale = Math.max(1, ...Array.from(a, Math.abs));
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
      expect(worst).toBeLessThan(1e-4);
    });
  }
  test('Gemm followed by BatchNormalization folds too (hand-built graph)', async () => {
    let m = cnn({ seed: 9 });
    const fc = m.graph.nodes.find((n) => n.opType === 'Gemm')!;
    m = replaceNode(m, fc, [{ ...fc, outputs: ['fc_raw'] }, makeNode('BatchNormalization', ['fc_raw', 'g', 'b', 'mu', 'v'], ['logits'], { name: 'fc_bn', attributes: [attr.float('epsilon', 1e-3)] })]);
    m = setInitializer(m, makeTensor('g', Float32Array.from({ length: 10 }, (_, i) => 0.5 + i / 10), [10]));
    m = setInitializer(m, makeTensor('b', Float32Array.from({ length: 10 }, (_, i) => i / 7 - 0.5), [10]));
    m = setInitializer(m, makeTensor('mu', Float32Array.from({ length: 10 }, (_, i) => i / 20), [10]));
    m = setInitializer(m, makeTensor('v', Float32Array.from({ length: 10 }, (_, i) => 0.3 + i / 5), [10]));
    const f = foldBatchNorm(m);
    expect(f.graph.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(false);
    const a = (await run(serializeModel(m), [2, 1, 28, 28])).logits!.data as Float32Array;
    const b = (await run(serializeModel(f), [2, 1, 28, 28])).logits!.data as Float32Array;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(a[i]!)));
  });
});

describe('exposeTensors', () => {
  test('ORT returns the exposed intermediates with the inferred shapes', async () => {
    const model = loadModel(CNN);
    const names = model.graph.nodes.filter((n) => n.opType === 'Relu').map((n) => n.outputs[0]!);
    const exposed = exposeTensors(model, names);
    expect(exposed.graph.outputs.map((o) => o.name)).toEqual(['logits', ...names]);
    expect(model.graph.outputs).toHaveLength(1);
    const out = await run(serializeModel(exposed), [2, 1, 28, 28]);
    const shapes = inferShapes(model).shapes;
    for (const name of names) {
      expect(out[name]).toBeDefined();
      const inferred = shapes.get(name)!.shape!;
      expect(out[name]!.dims).toEqual(inferred.map((d) => (d === 'batch' ? 2 : d)));
      // after a ReLU nothing is negative and something is positive
      const data = out[name]!.data as Float32Array;
      expect(Math.min(...data)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...data)).toBeGreaterThan(0);
    }
    const all = exposeTensors(model, 'all');
    expect(all.graph.outputs).toHaveLength(model.graph.nodes.length);
    const outAll = await run(serializeModel(all), [1, 1, 28, 28]);
    expect(Object.keys(outAll)).toHaveLength(model.graph.nodes.length);
  });
  test('an unknown tensor is ERR_INVALID_ARG naming it', () => {
    let err: unknown;
    try { exposeTensors(loadModel(CNN), ['nope']); } catch (e) { err = e; }
    expect(isTrtnError(err, 'ERR_INVALID_ARG')).toBe(true);
    expect((err as Error).message).toContain("'nope'");
  });
});
