import { describe, expect, it } from 'vitest';
import {
  TransformPipeline,
  centerCrop,
  chwToHwc,
  grayscale,
  hwcToChw,
  normalize,
  pad,
  resizeBilinear,
  transforms as t,
} from '../../lib/data/transforms.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../lib/data/float16.js';
import { thrown } from './helpers.js';

const f32 = (...v: number[]) => Float32Array.from(v);

describe('pure transforms', () => {
  it('bilinear 2x2 -> 3x3 (half-pixel centres): corners kept, midpoints averaged', () => {
    // a b / c d with a=0 b=4 c=8 d=12: row 0 = [a, (a+b)/2, b], row 1 = mean of rows, row 2 = [c, (c+d)/2, d]
    expect(Array.from(resizeBilinear(f32(0, 4, 8, 12), 1, 2, 2, 3, 3))).toEqual([0, 2, 4, 4, 6, 8, 8, 10, 12]);
  });

  it('bilinear 1x4 -> 1x2 samples at 0.5 and 2.5 between source pixels', () => {
    // source x = (o + 0.5) * 2 - 0.5 = 0.5 and 2.5 -> (10+20)/2, (30+40)/2
    expect(Array.from(resizeBilinear(f32(10, 20, 30, 40), 1, 1, 4, 1, 2))).toEqual([15, 35]);
  });

  it('bilinear 2x2 -> 4x4 weights 1/4 and 3/4 and works per channel', () => {
    const out = resizeBilinear(f32(0, 4, 8, 12, 100, 100, 100, 100), 2, 2, 2, 4, 4);
    // x positions -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1): row 0 = 0, 1, 3, 4
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 1, 3, 4]);
    // row 1 at y=0.25: 0.75*row0 + 0.25*row1(8, 9, 11, 12)
    expect(Array.from(out.subarray(4, 8))).toEqual([2, 3, 5, 6]);
    expect(Array.from(out.subarray(16))).toEqual(new Array(16).fill(100));
  });

  it('centre crop takes the middle, pad surrounds with the value', () => {
    const img = Float32Array.from({ length: 16 }, (_, i) => i); // 4x4
    expect(Array.from(centerCrop(img, 1, 4, 4, 2, 2))).toEqual([5, 6, 9, 10]);
    expect(Array.from(pad(f32(1, 2, 3, 4), 1, 2, 2, { top: 1, bottom: 0, left: 0, right: 1 }, -1))).toEqual([-1, -1, -1, 1, 2, -1, 3, 4, -1]);
  });

  it('grayscale uses BT.601 weights; layouts round-trip', () => {
    expect(grayscale(f32(255, 0, 0, 255, 0, 0), 1, 2)[0]).toBeCloseTo(0.299 * 255, 4);
    // planes R=[0,0] G=[10,0] B=[100,100]
    const gray = grayscale(f32(0, 0, 10, 0, 100, 100), 1, 2);
    expect(gray[0]).toBeCloseTo(0.587 * 10 + 0.114 * 100, 4);
    expect(gray[1]).toBeCloseTo(0.114 * 100, 4);
    const chw = f32(1, 2, 3, 4, 5, 6); // C=3, H=1, W=2
    const hwc = chwToHwc(chw, 3, 1, 2);
    expect(Array.from(hwc)).toEqual([1, 3, 5, 2, 4, 6]);
    expect(Array.from(hwcToChw(hwc, 1, 2, 3))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('normalize per channel: (x * scale - mean) / std', () => {
    const out = normalize(f32(255, 0, 51, 102), 2, [0.5, 0.2], [0.25, 0.1], 1 / 255);
    expect(out[0]).toBeCloseTo((1 - 0.5) / 0.25, 5);
    expect(out[1]).toBeCloseTo((0 - 0.5) / 0.25, 5);
    expect(out[2]).toBeCloseTo((0.2 - 0.2) / 0.1, 5);
    expect(out[3]).toBeCloseTo((0.4 - 0.2) / 0.1, 5);
  });

  it('float16 conversion: exact values, rounding to even, overflow, subnormals', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway, rounds to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
    expect(float16BitsToFloat32(0x3555)).toBeCloseTo(1 / 3, 3);
  });
});

describe('TransformPipeline', () => {
  it('computes the output shape before data: resize, rgb, pad, crop, NHWC', () => {
    const p = new TransformPipeline({ channels: 1, height: 28, width: 28, layout: 'CHW', dtype: 'uint8' }, [
      t.resize(48),
      t.rgb(),
      t.pad(4),
      t.centerCrop(50, 52),
      t.layout('NHWC'),
    ]);
    expect(p.itemShape).toEqual([50, 52, 3]);
    expect(p.itemSize).toBe(50 * 52 * 3);
    expect(p.dtype).toBe('float32');
  });

  it('uint8 HWC -> normalised float32 NCHW through the fused table', () => {
    const p = new TransformPipeline({ channels: 3, height: 1, width: 2, layout: 'HWC', dtype: 'uint8' }, [
      t.normalize({ scale: 1 / 255, mean: [0.5, 0, 1], std: [0.5, 1, 2] }),
    ]);
    const out = p.run(Uint8Array.from([255, 0, 51, 0, 255, 102])); // pixel0 = (255,0,51), pixel1 = (0,255,102)
    expect(p.itemShape).toEqual([3, 1, 2]);
    const expected = [(1 - 0.5) / 0.5, (0 - 0.5) / 0.5, 0, 1, (0.2 - 1) / 2, (0.4 - 1) / 2];
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
  });

  it('affines around a resize: normalise before and after compose correctly', () => {
    const p = new TransformPipeline({ channels: 1, height: 2, width: 2, layout: 'CHW', dtype: 'uint8' }, [t.rescale(0.5), t.resize(3), t.normalize({ mean: 1, std: 2 })]);
    const out = p.run(Uint8Array.from([0, 4, 8, 12]));
    // rescale -> 0 2 4 6, resize -> [0 1 2 / 2 3 4 / 4 5 6], then (x-1)/2
    expect(Array.from(out)).toEqual([0, 1, 2, 2, 3, 4, 4, 5, 6].map((x) => (x - 1) / 2));
  });

  it('grayscale -> 3 channels, then float16 and uint8 outputs', () => {
    const rgb = new TransformPipeline({ channels: 1, height: 1, width: 2, layout: 'CHW', dtype: 'float32' }, [t.rgb(), t.dtype('float16')]);
    const half = rgb.run(f32(0.5, -1)) as Uint16Array;
    expect(half).toBeInstanceOf(Uint16Array);
    expect(Array.from(half)).toEqual([0x3800, 0xbc00, 0x3800, 0xbc00, 0x3800, 0xbc00]);
    const bytes = new TransformPipeline({ channels: 1, height: 1, width: 3, layout: 'CHW', dtype: 'float32' }, [t.dtype('uint8')]).run(f32(-3, 127.6, 300));
    expect(Array.from(bytes)).toEqual([0, 128, 255]);
  });

  it('NHWC output after a geometric step, and a pipeline that resizes, pads and crops', () => {
    const rgb = new TransformPipeline({ channels: 1, height: 1, width: 2, layout: 'CHW', dtype: 'float32' }, [t.rgb(), t.layout('NHWC'), t.normalize({ mean: 1 })]);
    expect(rgb.itemShape).toEqual([1, 2, 3]);
    expect(Array.from(rgb.run(f32(1, 2)))).toEqual([0, 0, 0, 1, 1, 1]);
    // 2x2 -> 3x3 bilinear, pad 1 with 9, crop the centre 3x3 back: the resized image again
    const p = new TransformPipeline({ channels: 1, height: 2, width: 2, layout: 'CHW', dtype: 'uint8' }, [t.resize(3), t.pad(1, 9), t.centerCrop(3)]);
    expect(Array.from(p.run(Uint8Array.from([0, 4, 8, 12])))).toEqual([0, 2, 4, 4, 6, 8, 8, 10, 12]);
  });

  it('rejects steps that do not fit the item', () => {
    expect(thrown(() => new TransformPipeline({ channels: 1, height: 4, width: 4, layout: 'CHW', dtype: 'uint8' }, [t.grayscale()])).code).toBe('ERR_INVALID_ARG');
    expect(thrown(() => new TransformPipeline({ channels: 1, height: 4, width: 4, layout: 'CHW', dtype: 'uint8' }, [t.centerCrop(5)])).message).toMatch(/larger than the 4x4/);
    expect(thrown(() => new TransformPipeline({ channels: 1, height: 4, width: 4, layout: 'CHW', dtype: 'uint8' }, [t.normalize({ mean: [1, 2, 3] })])).message).toMatch(/3 values.*1 channels/);
    expect(thrown(() => t.resize(0)).code).toBe('ERR_INVALID_ARG');
    expect(thrown(() => t.normalize({ std: 0 })).code).toBe('ERR_INVALID_ARG');
  });
});
