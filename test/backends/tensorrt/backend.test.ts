// The TensorRT backend's TypeScript on a machine without TensorRT: options become the native baton, plans are
// recognised conservatively, latency statistics are exact, and the backend explains why it cannot run.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { nativeBuildOptions, tensorRtAvailability, DEFAULT_MAX_BATCH, REBUILD_FIX } from '../../../lib/backends/tensorrt/backend.js';
import { recognisesPlan, looksLikeOnnx } from '../../../lib/backends/tensorrt/plan-format.js';
import { latencyStats, percentile } from '../../../lib/engine/stats.js';
import { planPrecision } from '../../../lib/backends/tensorrt/precision.js';
import { precisionFromLayerInfo } from '../../../lib/backends/tensorrt/engine.js';
import { convertForExplicitPath } from '../../../lib/backends/tensorrt/explicit.js';
import { validateBuildOptions } from '../../../lib/engine/options.js';
import { nativeAddon } from '../../../lib/native/addon.js';
import { TrtnError } from '../../../lib/errors.js';

const CNN = 'test/fixtures/models/fmnist_cnn.onnx';

describe('build options -> native baton', () => {
  it('carries the precision plan, a parsed workspace, shapes and defaults', () => {
    const options = validateBuildOptions({ precision: 'fp16', workspace: '512MiB', shapes: { input: { min: [1, 1, 28, 28], opt: [8, 1, 28, 28], max: [32, 1, 28, 28] } }, optimizationLevel: 3 });
    const baton = nativeBuildOptions(CNN, options, planPrecision(10, 'fp16'));
    expect(baton).toMatchObject({ onnxPath: CNN, flags: ['fp16'], stronglyTyped: false, workspaceBytes: 512 * 1024 * 1024, optimizationLevel: 3, device: 0, maxBatch: DEFAULT_MAX_BATCH, logLevel: 2 });
    expect(baton.shapes?.input?.max).toEqual([32, 1, 28, 28]);
    expect(baton.onnxBytes).toBeUndefined();
  });
  it('passes ONNX bytes as bytes, maxBatch and a user logger at info level', () => {
    const bytes = readFileSync(CNN);
    const seen: string[] = [];
    const options = validateBuildOptions({ precision: 'fp32', maxBatch: 16, logger: (s: string, m: string) => seen.push(`${s}:${m}`) });
    const baton = nativeBuildOptions(new Uint8Array(bytes), options, planPrecision(11, 'fp32'));
    expect(baton.onnxBytes?.byteLength).toBe(bytes.byteLength);
    expect(baton.maxBatch).toBe(16);
    expect(baton.logLevel).toBe(3);
    baton.logger?.('warning', 'hello');
    expect(seen).toEqual(['warning:hello']);
  });
  it('rejects bad options before anything reaches native code', () => {
    expect(() => validateBuildOptions({ precision: 'int4' })).toThrowError(/precision/);
    // int8 without calib is the backend's call, where the model is known (test/trt-sim: refused unless it carries Q/DQ)
    expect(validateBuildOptions({ precision: 'int8' }).calib).toBeUndefined();
    expect(() => validateBuildOptions({ precision: 'fp16', workspace: 'lots' })).toThrowError(/workspace/);
    expect(() => validateBuildOptions({ precision: 'fp16', shapes: { input: { min: [4], opt: [2], max: [8] } } })).toThrowError(/min <= opt <= max/);
  });
});

describe('plan recognition', () => {
  it('never claims an ONNX model', () => {
    const onnx = new Uint8Array(readFileSync(CNN));
    expect(looksLikeOnnx(onnx)).toBe(true);
    expect(recognisesPlan(onnx)).toBe(false);
  });
  it("claims bytes with TensorRT's serialization tag and nothing shorter or different", () => {
    const plan = new Uint8Array(256);
    plan.set([0x66, 0x74, 0x72, 0x74]); // 'ftrt'
    expect(recognisesPlan(plan)).toBe(true);
    expect(recognisesPlan(plan.subarray(0, 16))).toBe(false);
    expect(recognisesPlan(new Uint8Array(256).fill(7))).toBe(false);
  });
});

describe('latency statistics', () => {
  it('matches hand-computed values', () => {
    const s = latencyStats([4, 1, 3, 2, 10]);
    // sorted 1 2 3 4 10: p90 rank 3.6 -> 4 + 0.6*6 = 7.6; p99 rank 3.96 -> 4 + 0.96*6 = 9.76
    expect(s).toMatchObject({ mean: 4, median: 3, min: 1, max: 10 });
    expect(s.p90).toBeCloseTo(7.6, 12);
    expect(s.p99).toBeCloseTo(9.76, 12);
    expect(percentile([1, 2], 50)).toBe(1.5);
  });
});

describe('loaded plans report their precision from the layer formats', () => {
  it('reads Int8 / Half / float formats', () => {
    expect(precisionFromLayerInfo('{"Layers":[{"Outputs":[{"Format/Datatype":"Int8 NC/4HW4"}]}]}')).toBe('int8');
    expect(precisionFromLayerInfo('{"Layers":[{"Outputs":[{"Format/Datatype":"Half NCHW"}]}]}')).toBe('fp16');
    expect(precisionFromLayerInfo('{"Layers":[{"Outputs":[{"Format/Datatype":"Float NCHW"}]}]}')).toBe('fp32');
    expect(precisionFromLayerInfo('')).toBeUndefined();
  });
});

describe('explicit path without its converters', () => {
  it('is a clear ERR_UNSUPPORTED naming the missing piece', async () => {
    const err = await convertForExplicitPath('qdq', CNN, { precision: 'int8' }, "precision 'int8' on TensorRT 11.1.0").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrtnError);
    expect((err as TrtnError).code).toBe('ERR_UNSUPPORTED');
    expect((err as TrtnError).message).toContain('quantizeModel');
  });
});

describe('availability on this machine', () => {
  it('explains why TensorRT cannot run and how to fix it', async () => {
    const a = await tensorRtAvailability();
    const built = nativeAddon().buildInfo().tensorrt;
    expect(a.available).toBe(false);
    if (built === null) {
      expect(a.reason).toBe('the native addon was built without TensorRT');
      expect(a.fix).toBe(REBUILD_FIX);
      expect(a.fix).toContain('npx trt-node rebuild --tensorrt'); // the one rebuild command doctor and the README give
    } else {
      expect(a.reason).toMatch(/CUDA device|could not initialise/);
    }
  });
});
