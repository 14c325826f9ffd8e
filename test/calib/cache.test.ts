import { describe, expect, it } from 'vitest';
import { floatToHex, hexToFloat, readCalibrationCache, writeCalibrationCache } from '../../lib/calib/cache.js';
import { isTrtnError } from '../../lib/errors.js';

// Written by hand in the format TensorRT 8.6 writes (scales are float32 bits, big-endian hex).
const TRT_WRITTEN = `TRT-8601-EntropyCalibration2
input: 3c010204
/f/f.1/Relu_output_0: 3d0a3d71
(Unnamed Layer* 12) [Shuffle]_output: 3ca14285
logits: 3e4ccccd
`;

describe('TensorRT calibration cache', () => {
  it('encodes float32 bits as 8 big-endian hex digits', () => {
    expect(floatToHex(1)).toBe('3f800000');
    expect(floatToHex(0.5)).toBe('3f000000');
    expect(floatToHex(1 / 127)).toBe('3c010204');
    expect(hexToFloat('3f800000')).toBe(1);
    expect(hexToFloat('3c010204')).toBe(Math.fround(1 / 127));
  });

  it('reads a TensorRT-written cache', () => {
    const cache = readCalibrationCache(TRT_WRITTEN);
    expect(cache.version).toBe('8601');
    expect(cache.calibrator).toBe('EntropyCalibration2');
    expect([...cache.scales.keys()]).toEqual(['input', '/f/f.1/Relu_output_0', '(Unnamed Layer* 12) [Shuffle]_output', 'logits']);
    expect(cache.scales.get('input')! * 127).toBeCloseTo(1, 6);
    expect(cache.scales.get('/f/f.1/Relu_output_0')! * 127).toBeCloseTo(4.28625, 4);
    expect(cache.scales.get('logits')).toBe(Math.fround(0.2));
  });

  it('round-trips scales through write and read, header included', () => {
    const scales = new Map([
      ['input', 2.0226 / 127],
      ['x:0', 0.1],
      ['/f/f.4/Relu_output_0', 5.05 / 127],
    ]);
    const text = writeCalibrationCache(scales, { version: '100300', calibrator: 'EntropyCalibration2' });
    expect(text.split('\n')[0]).toBe('TRT-100300-EntropyCalibration2');
    expect(text).toContain(`x:0: ${floatToHex(0.1)}`);
    const back = readCalibrationCache(new TextEncoder().encode(text));
    expect(back.version).toBe('100300');
    expect([...back.scales]).toEqual([...scales].map(([k, v]) => [k, Math.fround(v)]));
    expect(readCalibrationCache(writeCalibrationCache(back.scales)).scales).toEqual(back.scales);
  });

  it('rejects malformed caches with ERR_CALIB_CACHE naming the line', () => {
    const bad = (text: string, pattern: RegExp) => {
      let err: unknown;
      try {
        readCalibrationCache(text, 'model.cache');
      } catch (e) {
        err = e;
      }
      expect(isTrtnError(err, 'ERR_CALIB_CACHE')).toBe(true);
      expect((err as Error).message).toMatch(pattern);
    };
    bad('input: 3c010204\n', /model\.cache line 1: expected a header/);
    bad('TRT-8601-EntropyCalibration2\ninput: 3c010204\nnot a scale line\n', /line 3: expected 'tensor_name: <8 hex digits>'.*not a scale line/);
    bad('TRT-8601-EntropyCalibration2\ninput: zz\n', /line 2/);
    bad('TRT-8601-EntropyCalibration2\ninput: 7fc00000\n', /line 2: scale NaN/);
    bad('TRT-8601-EntropyCalibration2\na: 3c010204\na: 3c010204\n', /line 3: tensor 'a' appears twice/);
    bad('', /line 1/);
    expect(() => writeCalibrationCache({ a: NaN })).toThrow(/scale of tensor 'a'/);
  });
});
