import { describe, expect, it } from 'vitest';
import { planPrecision } from '../../../lib/backends/tensorrt/precision.js';
import { TrtnError } from '../../../lib/errors.js';

describe('planPrecision: TensorRT 8.6 and 10.x (implicit precision)', () => {
  for (const major of [8, 10]) {
    it(`TensorRT ${major}: fp32 sets no flag (TF32 cleared), fp16 sets kFP16`, () => {
      expect(planPrecision(major, 'fp32')).toMatchObject({ flags: [], path: 'none', stronglyTyped: false });
      expect(planPrecision(major, 'fp16')).toMatchObject({ flags: ['fp16'], path: 'implicit', stronglyTyped: false });
    });
    it(`TensorRT ${major}: int8 calibrates with TensorRT's calibrator of the chosen algorithm`, () => {
      expect(planPrecision(major, 'int8')).toMatchObject({ flags: ['int8'], path: 'implicit', calibrator: 'entropy' });
      expect(planPrecision(major, 'int8', 'minmax').calibrator).toBe('minmax');
      expect(planPrecision(major, 'int8', 'legacy-entropy').calibrator).toBe('legacy-entropy');
      expect(planPrecision(major, 'int8').convert).toBeUndefined();
    });
    it(`TensorRT ${major}: int8 'percentile' goes through explicit Q/DQ with kINT8, not a calibrator`, () => {
      const plan = planPrecision(major, 'int8', 'percentile');
      expect(plan).toMatchObject({ flags: ['int8'], path: 'explicit-qdq', convert: 'qdq', stronglyTyped: false });
      expect(plan.calibrator).toBeUndefined();
    });
    it(`TensorRT ${major}: best = fp16 + int8 + tf32 when calibrated, fp16 + tf32 otherwise`, () => {
      expect(planPrecision(major, 'best', 'entropy', true)).toMatchObject({ flags: ['fp16', 'int8', 'tf32'], path: 'implicit', calibrator: 'entropy' });
      expect(planPrecision(major, 'best', 'entropy', false)).toMatchObject({ flags: ['fp16', 'tf32'], path: 'implicit' });
      expect(planPrecision(major, 'best', 'entropy', false).calibrator).toBeUndefined();
    });
  }
});

describe('planPrecision: TensorRT 11.x (strongly typed, no precision flags)', () => {
  it('never uses fp16/int8 flags or calibrators', () => {
    for (const p of ['fp32', 'fp16', 'int8', 'best'] as const) {
      for (const a of ['entropy', 'minmax', 'percentile', 'legacy-entropy'] as const) {
        const plan = planPrecision(11, p, a);
        expect(plan.flags).not.toContain('fp16');
        expect(plan.flags).not.toContain('int8');
        expect(plan.calibrator).toBeUndefined();
      }
    }
  });
  it('fp16 builds the FP16-converted ONNX, int8 the Q/DQ ONNX, both strongly typed', () => {
    expect(planPrecision(11, 'fp16')).toMatchObject({ path: 'fp16-converted-onnx', convert: 'fp16', stronglyTyped: true });
    expect(planPrecision(11, 'int8')).toMatchObject({ path: 'explicit-qdq', convert: 'qdq', stronglyTyped: true });
    expect(planPrecision(11, 'fp32')).toMatchObject({ path: 'none', flags: [], stronglyTyped: false });
  });
  it('the description names the path and the algorithm (reported as engine.path)', () => {
    expect(planPrecision(11, 'int8', 'minmax').description).toBe('explicit-qdq (minmax scales, strongly typed)');
    expect(planPrecision(10, 'int8', 'entropy').description).toBe('implicit-int8 (entropy calibrator)');
  });
});

describe('planPrecision: unsupported versions', () => {
  it('rejects TensorRT 7 with ERR_UNSUPPORTED', () => {
    expect(() => planPrecision(7, 'fp16')).toThrowError(TrtnError);
    try {
      planPrecision(7, 'fp16');
    } catch (err) {
      expect((err as TrtnError).code).toBe('ERR_UNSUPPORTED');
    }
  });
});
