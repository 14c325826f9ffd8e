import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { isTrtnError, TrtnError } from '../../lib/errors.js';
import {
  checkModel, inspectModel, loadModel, saveModel, serializeModel, parseModel, tensorToArray, makeTensor,
  tensorToFloat32, DataType,
} from '../../lib/onnx/index.js';

const FIX = 'test/fixtures/models';
const manifest = JSON.parse(readFileSync(join(FIX, 'manifest.json'), 'utf8')) as Record<string, { file: string; params: number }>;
const tmp = mkdtempSync(join(tmpdir(), 'trtn-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function loadError(f: () => unknown): TrtnError {
  try {
    f();
  } catch (e) {
    expect(isTrtnError(e, 'ERR_ONNX_LOAD')).toBe(true);
    return e as TrtnError;
  }
  throw new Error('expected ERR_ONNX_LOAD');
}

/** Deterministic Fashion-MNIST-like feeds: normalised values in the fixture's range. */
function feed(batch: number): ort.Tensor {
  const data = new Float32Array(batch * 28 * 28);
  for (let i = 0; i < data.length; i++) data[i] = ((((i * 7919) % 256) / 255) - 0.286) / 0.353;
  return new ort.Tensor('float32', data, [batch, 1, 28, 28]);
}

async function run(model: Uint8Array | string, batch = 3): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model as Uint8Array);
  const out = await s.run({ input: feed(batch) });
  await s.release();
  return out.logits!.data as Float32Array;
}

describe('fixture models', () => {
  for (const [key, entry] of Object.entries(manifest)) {
    test(`${key}: load -> serialize is byte-equal, inspect matches the manifest, checkModel passes`, () => {
      const path = join(FIX, entry.file);
      const model = loadModel(path);
      const bytes = serializeModel(model);
      expect(Buffer.compare(Buffer.from(bytes), readFileSync(path))).toBe(0);
      const s = inspectModel(model);
      // The manifest counts PyTorch parameters. The exporter folded each conv's BatchNorm (gamma, beta: 2 per
      // channel) into a conv bias (1 per channel), so the ONNX file holds one parameter less per conv channel.
      const convChannels = model.graph.nodes
        .filter((n) => n.opType === 'Conv' && key !== 'cnn')
        .reduce((sum, n) => sum + model.graph.initializers.find((t) => t.name === n.inputs[1])!.dims[0]!, 0);
      expect(s.parameterCount + convChannels).toBe(entry.params);
      expect(s.opset).toBe(17);
      expect(s.inputs).toEqual([{ name: 'input', elemType: 'FLOAT', shape: ['batch', 1, 28, 28] }]);
      expect(s.outputs[0]!.name).toBe('logits');
      expect(s.outputs[0]!.shape[1]).toBe(10);
      expect(s.initializerBytes).toBe(4 * s.initializerElements);
      expect(s.nodeCount).toBe(model.graph.nodes.length);
      expect(Object.values(s.opCounts).reduce((a, b) => a + b, 0)).toBe(s.nodeCount);
      const report = checkModel(model);
      expect(report.shapes.get('logits')?.shape).toEqual(['batch', 10]);
    });
  }

  test('cnn: saved copy and external-data copy give identical ORT outputs', async () => {
    const path = join(FIX, manifest.cnn!.file);
    const model = loadModel(path);
    const ref = await run(path);
    const inline = join(tmp, 'cnn.onnx');
    saveModel(model, inline);
    expect(Array.from(await run(inline))).toEqual(Array.from(ref));

    const ext = join(tmp, 'ext', 'cnn_ext.onnx');
    saveModel(model, ext, { externalData: { file: 'cnn_ext.weights', threshold: 256 } });
    expect(statSync(ext).size).toBeLessThan(8000); // the weights moved out
    const extModel = loadModel(ext);
    // every tensor is back inline, with the same values
    model.graph.initializers.forEach((t, i) => {
      const back = extModel.graph.initializers[i]!;
      expect(back.name).toBe(t.name);
      expect(back.externalData).toBeUndefined();
      expect(Array.from(tensorToFloat32(back))).toEqual(Array.from(tensorToFloat32(t)));
    });
    expect(Buffer.compare(Buffer.from(serializeModel(extModel)), readFileSync(path))).toBe(0);
    // ORT reads the external file itself too
    const s = await ort.InferenceSession.create(ext);
    const out = await s.run({ input: feed(3) });
    expect(Array.from(out.logits!.data as Float32Array)).toEqual(Array.from(ref));
    await s.release();
  });
});

describe('external data errors', () => {
  const model = loadModel(join(FIX, manifest.cnn!.file));
  const dir = join(tmp, 'bad');
  const path = join(dir, 'm.onnx');
  saveModel(model, path, { externalData: { file: 'm.bin', threshold: 1024 } });
  const bigTensor = model.graph.initializers.find((t) => (t.rawData?.byteLength ?? 0) >= 1024)!.name;

  test('a missing data file names the model file and the tensor', () => {
    rmSync(join(dir, 'm.bin'));
    const err = loadError(() => loadModel(path));
    expect(err.message).toContain(path);
    expect(err.details.tensor).toBeTypeOf('string');
    expect(err.message).toContain(`'${err.details.tensor}'`);
  });
  test('a data file too short for the offset/length is rejected naming the tensor', () => {
    saveModel(model, path, { externalData: { file: 'm.bin', threshold: 1024 } });
    const full = readFileSync(join(dir, 'm.bin'));
    writeFileSync(join(dir, 'm.bin'), full.subarray(0, full.length - 100));
    const err = loadError(() => loadModel(path));
    expect(err.message).toMatch(/outside/);
    expect(err.message).toContain(path);
    expect(err.details.tensor).toBeTypeOf('string');
  });
  test('a location escaping the model directory is refused', () => {
    const evil = { ...model, graph: { ...model.graph, initializers: model.graph.initializers.map((t) => (t.name === bigTensor ? { name: t.name, dataType: t.dataType, dims: t.dims, dataLocation: 1, externalData: [{ key: 'location', value: '../../etc/passwd' }] } : t)) } };
    const p = join(dir, 'evil.onnx');
    writeFileSync(p, serializeModel(evil));
    const err = loadError(() => loadModel(p));
    expect(err.message).toContain(bigTensor);
  });
  test('bytes with external data need baseDir', () => {
    saveModel(model, path, { externalData: { file: 'm.bin', threshold: 1024 } });
    const bytes = readFileSync(path);
    loadError(() => loadModel(bytes));
    const m = loadModel(bytes, { baseDir: dir });
    expect(m.graph.initializers.every((t) => t.rawData !== undefined)).toBe(true);
  });
});

describe('malformed files are ERR_ONNX_LOAD naming the file', () => {
  const path = join(FIX, manifest.cnn!.file);
  const bytes = readFileSync(path);
  test('empty, truncated, garbage, text, missing', () => {
    const cases: [string, Uint8Array][] = [
      ['empty.onnx', new Uint8Array(0)],
      ['half.onnx', bytes.subarray(0, bytes.length >> 1)],
      ['cut.onnx', bytes.subarray(0, bytes.length - 3)],
      ['header.onnx', bytes.subarray(0, 40)],
      ['text.onnx', new TextEncoder().encode('this is not an onnx model, just text\n')],
      ['zeros.onnx', new Uint8Array(1000)],
      ['ff.onnx', new Uint8Array(1000).fill(0xff)],
    ];
    for (const [name, data] of cases) {
      const p = join(tmp, name);
      writeFileSync(p, data);
      const err = loadError(() => loadModel(p));
      expect(err.message).toContain(p);
      expect(err.details.file).toBe(p);
    }
    const missing = join(tmp, 'nope.onnx');
    expect(loadError(() => loadModel(missing)).message).toContain(missing);
  });
  test('seeded random mutations never crash: each either loads or throws ERR_ONNX_LOAD', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let loaded = 0;
    for (let k = 0; k < 300; k++) {
      const copy = Uint8Array.from(bytes.subarray(0, 4000 + Math.floor(rand() * 3000)));
      for (let j = 0; j < 1 + Math.floor(rand() * 8); j++) copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256);
      try {
        parseModel(copy, `mut${k}`);
        loaded++;
      } catch (e) {
        expect(isTrtnError(e, 'ERR_ONNX_LOAD')).toBe(true);
        expect((e as TrtnError).message).toContain(`mut${k}`);
      }
    }
    expect(loaded).toBeLessThan(300);
  });
  test('deeply nested graphs are rejected, not a stack overflow', () => {
    // AttributeProto.g -> GraphProto.node -> NodeProto.attribute -> ... 5000 levels
    const enc = (field: number, body: Uint8Array): Uint8Array => {
      const len: number[] = [];
      let n = body.length;
      do { len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7; } while (n);
      return Buffer.concat([Uint8Array.from([(field << 3) | 2, ...len]), body]);
    };
    let g: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 400; i++) g = enc(1, enc(5, enc(6, g))); // graph.node{attribute{g}}: 1200 message levels
    const model = Buffer.concat([Uint8Array.from([0x08, 0x08]), enc(7, g)]);
    const err = loadError(() => parseModel(model, 'deep.onnx'));
    expect(err.message).toContain('deep.onnx');
  });
});

describe('tensor helpers', () => {
  test('typed arrays round-trip through tensors for each data type', () => {
    const cases = [
      [new Float32Array([1.5, -2, 3]), DataType.FLOAT],
      [new Uint16Array([0x3c00, 0xc000]), DataType.FLOAT16],
      [new Int8Array([-128, 0, 127]), DataType.INT8],
      [new Uint8Array([0, 255]), DataType.UINT8],
      [new Int32Array([-5, 7]), DataType.INT32],
      [new BigInt64Array([-1n, 9223372036854775807n]), DataType.INT64],
    ] as const;
    for (const [arr, type] of cases) {
      const t = makeTensor('t', arr, [arr.length]);
      expect(t.dataType).toBe(type);
      const back = parseModelTensor(t);
      expect(Array.from(tensorToArray(back) as ArrayLike<number | bigint>)).toEqual(Array.from(arr as ArrayLike<number | bigint>));
    }
    expect(Array.from(tensorToFloat32(makeTensor('h', new Uint16Array([0x3c00, 0xc000, 0x3555]), [3])))).toEqual([1, -2, 0.333251953125]);
  });
  test('typed fields (float_data, int64_data) decode; a payload that does not fill dims is ERR_ONNX_PARSE', () => {
    expect(Array.from(tensorToArray({ name: 'a', dataType: DataType.FLOAT, dims: [2], floatData: [1, 2] }) as Float32Array)).toEqual([1, 2]);
    expect(Array.from(tensorToArray({ name: 'b', dataType: DataType.INT64, dims: [1], int64Data: [-3n] }) as BigInt64Array)).toEqual([-3n]);
    let err: unknown;
    try { tensorToArray({ name: 'c', dataType: DataType.FLOAT, dims: [3], rawData: new Uint8Array(8) }); } catch (e) { err = e; }
    expect(isTrtnError(err, 'ERR_ONNX_PARSE')).toBe(true);
    expect((err as Error).message).toContain("'c'");
  });
});

/** Put a tensor through a whole model encode/decode. */
function parseModelTensor(t: ReturnType<typeof makeTensor>) {
  const m = loadModel(join(FIX, manifest.cnn!.file));
  const bytes = serializeModel({ ...m, graph: { ...m.graph, initializers: [...m.graph.initializers, t] } });
  return parseModel(bytes).graph.initializers.at(-1)!;
}
