import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../lib/backends/index.js';
import { buildEngine } from '../../lib/engine/api.js';
import type { Engine } from '../../lib/engine/types.js';
import { exportModelRepository, preferredBatchSizes, readModelRepository } from '../../lib/serve/repository.js';
import { parseModelConfig } from '../../lib/serve/model-config.js';
import { serve } from '../../lib/serve/server.js';
import { readResults, type StudyResults } from '../../lib/bench/results.js';
import { parseModel } from '../../lib/onnx/io.js';
import { fashionMnist, subset } from '../../lib/data/index.js';
import { isTrtnError } from '../../lib/errors.js';
import { createProgram } from '../../lib/cli/main.js';

const CNN = 'test/fixtures/models/fmnist_cnn.onnx';
let engine: Engine;
let dir: string;

beforeAll(async () => {
  engine = await buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime', session: { intraOpThreads: 1 } });
  dir = mkdtempSync(join(tmpdir(), 'trtn-repo-'));
});
afterAll(() => {
  engine?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return isTrtnError(err) ? `${err.code}: ${err.message}` : `not a TrtnError: ${String(err)}`;
  }
  return 'resolved';
}

describe('exportModelRepository', () => {
  it("writes Triton's layout: config.pbtxt and <version>/model.onnx holding the engine's model", async () => {
    const out = await exportModelRepository(engine, dir, { name: 'cnn', version: 3, maxBatch: 32, dynamicBatching: { preferredBatchSizes: [8, 32], maxQueueDelayMicroseconds: 500 }, instances: 2 });
    expect(out.modelFile).toBe(join(dir, 'cnn', '3', 'model.onnx'));
    expect(new Uint8Array(readFileSync(out.modelFile))).toEqual(engine.serialize());
    const config = parseModelConfig(readFileSync(join(dir, 'cnn', 'config.pbtxt'), 'utf8'));
    expect(config).toEqual({
      name: 'cnn', platform: 'onnxruntime_onnx', maxBatchSize: 32,
      // The batch dimension is left out of dims when max_batch_size > 0.
      input: [{ name: 'input', dataType: 'TYPE_FP32', dims: [1, 28, 28] }],
      output: [{ name: 'logits', dataType: 'TYPE_FP32', dims: [10] }],
      dynamicBatching: { preferredBatchSize: [8, 32], maxQueueDelayMicroseconds: 500 },
      instanceGroup: [{ count: 2, kind: 'KIND_CPU' }],
      ignored: [],
    });
  });

  it('with maxBatch 0 keeps the full shape, the dynamic batch dimension as -1', async () => {
    const out = await exportModelRepository(engine, dir, { name: 'cnn_nobatch', maxBatch: 0 });
    expect(out.config.input[0]!.dims).toEqual([-1, 1, 28, 28]);
    expect(out.config.maxBatchSize).toBe(0);
    expect(out.config.dynamicBatching).toBeUndefined();
  });

  it('rejects options Triton would reject, naming them', async () => {
    expect(await code(exportModelRepository(engine, dir, { name: 'x', maxBatch: 0, dynamicBatching: true }))).toMatch(/ERR_INVALID_ARG: .*dynamicBatching/);
    expect(await code(exportModelRepository(engine, dir, { name: 'x', maxBatch: 4, dynamicBatching: { preferredBatchSizes: [8] } }))).toMatch(/ERR_DATA_FORMAT: .*preferred_batch_size 8 must be <= max_batch_size \(4\)/);
    expect(await code(exportModelRepository(engine, dir, { name: '../up' }))).toMatch(/ERR_INVALID_ARG: .*for name/);
    expect(await code(exportModelRepository(engine, dir, { name: 'x', version: 0 }))).toMatch(/ERR_INVALID_ARG: .*for version/);
    expect(await code(exportModelRepository(engine, dir, { name: 'x', instances: 0 }))).toMatch(/ERR_INVALID_ARG: .*for instances/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('exports INT8 as the Q/DQ model ONNX Runtime runs', async () => {
    const train = await fashionMnist({ split: 'train' });
    const int8 = await buildEngine(CNN, { precision: 'int8', backend: 'onnxruntime', int8Placement: 'rules', calib: { data: subset(train, 128, { stratified: true }), batchSize: 64, maxBatches: 2 } });
    try {
      const out = await exportModelRepository(int8, dir, { name: 'cnn_int8', maxBatch: 16 });
      const model = parseModel(new Uint8Array(readFileSync(out.modelFile)));
      const ops = new Set(model.graph.nodes.map((n) => n.opType));
      expect(ops.has('QuantizeLinear') && ops.has('DequantizeLinear')).toBe(true);
    } finally {
      int8.dispose();
    }
  });

  it('trt-node export writes the same layout from the command line', async () => {
    const cli = join(dir, 'cli');
    await createProgram().parseAsync(['node', 'trt-node', 'export', CNN, '--backend', 'onnxruntime', '--repository', cli, '--name', 'm', '--max-batch', '8', '--preferred', '4', '--preferred', '8', '--queue-delay-us', '250']);
    const config = parseModelConfig(readFileSync(join(cli, 'm', 'config.pbtxt'), 'utf8'));
    expect(config.dynamicBatching).toEqual({ preferredBatchSize: [4, 8], maxQueueDelayMicroseconds: 250 });
    expect(existsSync(join(cli, 'm', '1', 'model.onnx'))).toBe(true);
  });
});

describe('exporting a TensorRT engine', () => {
  // No TensorRT here: a stand-in with a TensorRT engine's metadata (an optimization profile on the batch dimension).
  const plan = new Uint8Array([1, 2, 3, 4]);
  const trt = {
    backend: 'tensorrt', precision: 'int8', path: 'implicit-int8',
    inputs: [{ name: 'images', dtype: 'float16', shape: [-1, 3, 224, 224], profile: { min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [16, 3, 224, 224] } }],
    outputs: [{ name: 'scores', dtype: 'float32', shape: [-1, 1000] }],
    serialize: () => plan,
  } as unknown as Engine;

  it('writes model.plan, tensorrt_plan, KIND_GPU, and max_batch_size from the profile', async () => {
    const out = await exportModelRepository(trt, dir, { name: 'trt' });
    expect(out.modelFile).toBe(join(dir, 'trt', '1', 'model.plan'));
    expect(new Uint8Array(readFileSync(out.modelFile))).toEqual(plan);
    const config = parseModelConfig(readFileSync(out.configFile, 'utf8'));
    expect(config.platform).toBe('tensorrt_plan');
    expect(config.maxBatchSize).toBe(16);
    expect(config.input).toEqual([{ name: 'images', dataType: 'TYPE_FP16', dims: [3, 224, 224] }]);
    expect(config.instanceGroup).toEqual([{ count: 1, kind: 'KIND_GPU' }]);
    expect(await code(exportModelRepository(trt, dir, { name: 'trt', maxBatch: 32 }))).toMatch(/ERR_INVALID_ARG: .*at most the engine profile's largest batch \(16\)/);
  });

  it('a fixed batch dimension exports with max_batch_size 0 and cannot batch', async () => {
    const fixed = { ...trt, inputs: [{ name: 'images', dtype: 'float32', shape: [1, 3, 8, 8] }], outputs: [{ name: 'scores', dtype: 'float32', shape: [1, 10] }], serialize: () => plan } as unknown as Engine;
    const out = await exportModelRepository(fixed, dir, { name: 'fixed' });
    expect([out.config.maxBatchSize, out.config.input[0]!.dims]).toEqual([0, [1, 3, 8, 8]]);
    expect(await code(exportModelRepository(fixed, dir, { name: 'fixed', maxBatch: 4 }))).toMatch(/ERR_SHAPE: tensor 'images' has a fixed first dimension \(1\)/);
  });
});

describe('preferred batch sizes from a study', () => {
  const cell = (batchSize: number, p99: number, throughput: number, model = 'm', column = 'fp32') =>
    ({ input: 'i', inputShape: [1, 28, 28], model, modelSource: model, precision: 'fp32', backend: 'onnxruntime', column, batchSize, status: 'ok', latencyMs: { mean: p99, median: p99, p90: p99, p99, min: p99, max: p99 }, throughput });
  const results = { cells: [cell(1, 0.5, 2000), cell(8, 1.0, 8000), cell(16, 1.9, 8500), cell(32, 4.0, 9000), cell(4, 0.8, 5000, 'other')] } as unknown as StudyResults;

  it('takes the best throughput within the bound, and sizes within 10% of it', () => {
    // Within 2 ms: 1 (2000/s), 8 (8000/s), 16 (8500/s). Best 8500; 8000 is within 10%.
    expect(preferredBatchSizes(results, { latencyBoundMs: 2, model: 'm' })).toEqual([8, 16]);
    expect(preferredBatchSizes(results, { latencyBoundMs: 0.9, model: 'm' })).toEqual([1]);
    expect(preferredBatchSizes(results, { latencyBoundMs: 5, model: 'm', maxBatch: 16 })).toEqual([8, 16]);
    expect(() => preferredBatchSizes(results, { latencyBoundMs: 0.1, model: 'm' })).toThrow(/no batch size of m \(fp32\) has p99 latency within 0.1 ms \(the lowest is 0.500 ms at batch 1\)/);
    expect(() => preferredBatchSizes(results, { latencyBoundMs: 2 })).toThrow(/studyModel/);
  });

  it('reads the committed CPU study', async () => {
    const study = await readResults('bench/results/study-cpu/results.json');
    const sizes = preferredBatchSizes(study, { latencyBoundMs: 5, model: 'fmnist_cnn', column: 'fp32' });
    const cells = study.cells.filter((c) => c.status === 'ok' && c.model === 'fmnist_cnn' && c.column === 'fp32' && c.latencyMs!.p99 <= 5);
    const best = Math.max(...cells.map((c) => c.throughput!));
    expect(sizes.length).toBeGreaterThan(0);
    expect(sizes).toContain(cells.find((c) => c.throughput === best)!.batchSize);
    for (const s of sizes) expect(cells.find((c) => c.batchSize === s)!.throughput!).toBeGreaterThanOrEqual(0.9 * best);
  });
});

describe('reading a repository back', () => {
  it('applies the version policy and refuses names, versions and configs that do not fit', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'trtn-repo2-'));
    try {
      await exportModelRepository(engine, repo, { name: 'a', version: 1, maxBatch: 4 });
      await exportModelRepository(engine, repo, { name: 'a', version: 2, maxBatch: 4 });
      expect((await readModelRepository(repo))[0]!.versions.map((v) => v.version)).toEqual([2]);
      const cfg = join(repo, 'a', 'config.pbtxt');
      const text = readFileSync(cfg, 'utf8');
      writeFileSync(cfg, `${text}version_policy: { all { } }\n`);
      expect((await readModelRepository(repo))[0]!.versions.map((v) => v.version)).toEqual([1, 2]);
      writeFileSync(cfg, `${text}version_policy: { specific { versions: [ 7 ] } }\n`);
      expect(await code(readModelRepository(repo))).toMatch(/ERR_DATA_FORMAT: .*version_policy names version 7/);
      writeFileSync(cfg, text.replace('name: "a"', 'name: "b"'));
      expect(await code(readModelRepository(repo))).toMatch(/ERR_DATA_FORMAT: .*name 'b' does not match its directory 'a'/);
      writeFileSync(cfg, `${text}sequence_batching { }\n`);
      expect(await code(readModelRepository(repo))).toMatch(/ERR_UNSUPPORTED: .*sequence_batching/);
      // A config whose dims do not fit the model file: serve refuses to start, naming the file and tensor.
      writeFileSync(cfg, text.replace('dims: [ 1, 28, 28 ]', 'dims: [ 3, 28, 28 ]'));
      expect(await code(serve({ repository: repo }))).toMatch(/ERR_DATA_FORMAT: .*config.pbtxt: input 'input' dims \[3, 28, 28\]/);
      writeFileSync(cfg, text.replace('TYPE_FP32', 'TYPE_FP16'));
      expect(await code(serve({ repository: repo }))).toMatch(/ERR_DATA_FORMAT: .*input 'input' is TYPE_FP16; the model's is TYPE_FP32/);
      mkdirSync(join(repo, 'empty'));
      writeFileSync(cfg, text);
      expect(await code(readModelRepository(repo))).toMatch(/ERR_IO: model 'empty' has no readable config.pbtxt/);
      expect(await code(readModelRepository(join(repo, 'missing')))).toMatch(/ERR_IO: cannot read model repository/);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
