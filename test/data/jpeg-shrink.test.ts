import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageFolder } from '../../lib/data/image-folder.js';
import { axisFilter, jpegInfo, planJpegShrink, planNativeJpeg, resizeTriangleHwc, sharpJpegScale } from '../../lib/data/jpeg-shrink.js';
import { nativeJpegDecoder, nativeJpegVersion } from '../../lib/native/jpeg.js';
import { transforms as t } from '../../lib/data/transforms.js';
import { collect, rejection, tempDir } from './helpers.js';

/** A smooth photo-like RGB image (gradients, soft waves and two hard-edged discs), deterministic per seed. */
function photoLike(width: number, height: number, seed: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  const discs = [
    { x: width * (0.2 + 0.1 * (seed % 3)), y: height * 0.4, r: height * 0.22, d: [60, -40, 20] },
    { x: width * 0.75, y: height * (0.3 + 0.1 * (seed % 4)), r: height * 0.15, d: [-50, 30, 60] },
  ];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 90 + 80 * (x / width) + 20 * Math.sin(x / (9 + seed) + y / 13);
      let g = 110 + 60 * (y / height) + 15 * Math.cos(y / (7 + seed));
      let b = 140 - 50 * (x / width) + 12 * Math.sin((x + y) / 5);
      for (const d of discs) {
        if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r ** 2) {
          r += d.d[0]!;
          g += d.d[1]!;
          b += d.d[2]!;
        }
      }
      const o = (y * width + x) * 3;
      px[o] = Math.max(0, Math.min(255, r));
      px[o + 1] = Math.max(0, Math.min(255, g));
      px[o + 2] = Math.max(0, Math.min(255, b));
    }
  }
  return px;
}

const jpegOf = (px: Buffer, width: number, height: number, options: sharp.JpegOptions = {}) =>
  sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85, ...options }).toBuffer();

/** Independent reference: the triangle (antialiased bilinear) filter as a direct 2-D sum in float64, HWC. */
function referenceResize(src: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Float64Array {
  const axis = (inSize: number, outSize: number, o: number) => {
    const scale = inSize / outSize;
    const support = Math.max(1, scale);
    const centre = (o + 0.5) * scale;
    const taps: [number, number][] = [];
    for (let i = 0; i < inSize; i++) {
      const w = 1 - Math.abs((i + 0.5 - centre) / support);
      if (w > 0) taps.push([i, w]);
    }
    const sum = taps.reduce((s, [, w]) => s + w, 0);
    return taps.map(([i, w]) => [i, w / sum] as [number, number]);
  };
  const out = new Float64Array(outWidth * outHeight * channels);
  for (let y = 0; y < outHeight; y++) {
    const ys = axis(height, outHeight, y);
    for (let x = 0; x < outWidth; x++) {
      const xs = axis(width, outWidth, x);
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (const [yi, wy] of ys) for (const [xi, wx] of xs) s += wy * wx * src[(yi * width + xi) * channels + c]!;
        out[(y * outWidth + x) * channels + c] = s;
      }
    }
  }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

const meanAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

describe('jpegInfo', () => {
  it('reads width and height from baseline and progressive JPEGs, past EXIF/ICC segments', async () => {
    const px = photoLike(61, 37, 1);
    for (const options of [{}, { progressive: true }, { chromaSubsampling: '4:4:4' }] as sharp.JpegOptions[]) {
      expect(jpegInfo(await jpegOf(px, 61, 37, options))).toEqual({ width: 61, height: 37, iccProfile: false });
    }
    const withMetadata = await sharp(px, { raw: { width: 61, height: 37, channels: 3 } })
      .withMetadata({ exif: { IFD0: { Copyright: 'x'.repeat(3000) } } })
      .withIccProfile('p3')
      .jpeg()
      .toBuffer();
    expect(withMetadata.indexOf(Buffer.from('Exif'))).toBeGreaterThan(0); // the SOF really is behind APP segments
    expect(jpegInfo(withMetadata)).toEqual({ width: 61, height: 37, iccProfile: true });
  });

  it('is null for other formats and for bytes cut before the frame header', async () => {
    const png = await sharp(photoLike(8, 8, 2), { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
    expect(jpegInfo(png)).toBeNull();
    expect(jpegInfo(new Uint8Array([0xff, 0xd8]))).toBeNull();
    const jpeg = await jpegOf(photoLike(20, 10, 3), 20, 10);
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    expect(jpegInfo(jpeg.subarray(0, sof + 4))).toBeNull();
  });
});

describe('planJpegShrink', () => {
  it("mirrors sharp's DCT-scale choice", () => {
    expect([1.9, 2, 2.93, 3, 3.99, 4, 4.9, 5, 8, 8.9, 9, 20].map(sharpJpegScale)).toEqual([1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8]);
  });

  it('asks for at most a third of the image where the reduction is 2x to 3x, and nothing elsewhere', () => {
    expect(planJpegShrink(500, 375, 128, 128)).toEqual({ width: 128, height: 125 });
    expect(planJpegShrink(375, 500, 128, 128)).toEqual({ width: 125, height: 128 });
    expect(planJpegShrink(500, 375, 200, 150)).toEqual({ width: 166, height: 125 }); // 2.5x on both axes
    expect(planJpegShrink(640, 480, 128, 128)).toBeNull(); // 3.75x: sharp decodes at 1/2 by itself
    expect(planJpegShrink(300, 200, 128, 128)).toBeNull(); // 1.56x: no DCT scale covers the output
    for (const [w, h, ow, oh] of [[500, 375, 128, 128], [333, 251, 150, 100], [1000, 700, 400, 300], [5, 5, 2, 2]]) {
      const plan = planJpegShrink(w!, h!, ow!, oh!);
      if (plan) expect(sharpJpegScale(Math.min(w! / plan.width, h! / plan.height))).toBe(2);
    }
  });
});

describe('planNativeJpeg', () => {
  it('picks the smallest DCT scale whose rounded-up output still covers the target', () => {
    expect(planNativeJpeg(500, 375, 128, 128)).toEqual({ scaleDenom: 2, width: 250, height: 188 });
    expect(planNativeJpeg(500, 375, 224, 224)).toEqual({ scaleDenom: 1, width: 500, height: 375 });
    expect(planNativeJpeg(1000, 750, 128, 128)).toEqual({ scaleDenom: 4, width: 250, height: 188 });
    expect(planNativeJpeg(1025, 1025, 128, 128)).toEqual({ scaleDenom: 8, width: 129, height: 129 });
    expect(planNativeJpeg(1023, 1023, 128, 128)).toEqual({ scaleDenom: 8, width: 128, height: 128 });
    expect(planNativeJpeg(1016, 1016, 128, 128)).toEqual({ scaleDenom: 4, width: 254, height: 254 });
  });
});

describe('resizeTriangleHwc', () => {
  it('matches a direct 2-D triangle filter, up and down on either axis', () => {
    const src = Uint8Array.from({ length: 23 * 17 * 3 }, (_, i) => (i * 97 + (i % 7) * 31) & 255);
    for (const [ow, oh] of [[23, 21], [23, 11], [30, 17], [14, 17], [9, 25], [40, 8]]) {
      const got = resizeTriangleHwc(src, 23, 17, 3, ow!, oh!);
      const want = referenceResize(src, 23, 17, 3, ow!, oh!);
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(0.5 + 1e-3);
    }
    expect(Array.from(resizeTriangleHwc(src, 23, 17, 3, 23, 17))).toEqual(Array.from(src));
  });
});

const decodeJpeg = nativeJpegDecoder();

describe.skipIf(!decodeJpeg)('the addon\'s libjpeg decoder', () => {
  it('decodes at a DCT scale, and its resize agrees with resizeTriangleHwc', async () => {
    expect(nativeJpegVersion()).toMatch(/^libjpeg/); // buildInfo().jpeg, as `trt-node doctor` shows it
    const jpeg = await jpegOf(photoLike(101, 77, 4), 101, 77);
    const full = await decodeJpeg!(jpeg, 1);
    expect([full.width, full.height, full.data.length]).toEqual([101, 77, 101 * 77 * 3]);
    expect(meanAbs(full.data, await sharp(jpeg).raw().toBuffer())).toBeLessThan(0.01); // the same libjpeg-turbo decode as sharp's
    const half = await decodeJpeg!(jpeg, 2);
    expect([half.width, half.height]).toEqual([51, 39]);
    const resized = await decodeJpeg!(jpeg, 2, { x: axisFilter(51, 40), y: axisFilter(39, 30) });
    expect([resized.width, resized.height]).toEqual([40, 30]);
    const inJs = resizeTriangleHwc(half.data, 51, 39, 3, 40, 30);
    for (let i = 0; i < inJs.length; i++) expect(Math.abs(resized.data[i]! - inJs[i]!)).toBeLessThanOrEqual(1);
    expect(meanAbs(resized.data, inJs)).toBeLessThan(0.01);
  });

  it('rejects what is not a JPEG, reports a truncated one as a warning, and checks its arguments', async () => {
    const notJpeg = await rejection(decodeJpeg!(Buffer.from('not a jpeg'), 1));
    expect(notJpeg.code).toBe('ERR_DATA_FORMAT');
    const jpeg = await jpegOf(photoLike(320, 240, 5), 320, 240);
    const cut = await decodeJpeg!(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 1);
    expect(cut.warning).toMatch(/premature end/i);
    expect((await rejection((async () => decodeJpeg!(jpeg, 3 as 2))())).code).toBe('ERR_INVALID_ARG');
    const wrong = await rejection(decodeJpeg!(jpeg, 2, { x: axisFilter(320, 16), y: axisFilter(120, 12) }));
    expect(wrong.message).toMatch(/160x120, the resize filters expect 320x120/);
  });
});

describe('imageFolder jpegDecode', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  const W = 500;
  const H = 375;
  const originals: Buffer[] = [];
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir());
    await mkdir(join(root, 'photos', 'a'), { recursive: true });
    await mkdir(join(root, 'icc', 'a'), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const px = photoLike(W, H, i);
      const jpeg = await jpegOf(px, W, H);
      originals.push(jpeg);
      await writeFile(join(root, 'photos', 'a', `${i}.jpg`), jpeg);
      // sRGB pixels tagged with an sRGB profile: sharp's colour management leaves them as they are
      await sharp(px, { raw: { width: W, height: H, channels: 3 } }).withIccProfile('srgb').jpeg({ quality: 85 }).toFile(join(root, 'icc', 'a', `${i}.jpg`));
    }
  });
  afterAll(() => cleanup());

  const pixels = async (dir: string, options: Parameters<typeof imageFolder>[1]) => {
    const ds = await imageFolder(join(root, dir), { ...options, transforms: [t.layout('NHWC'), t.dtype('uint8')] });
    const [batch] = await collect(ds.batches({ batchSize: 8 }));
    return batch!.feeds.input!.data as Uint8Array;
  };
  const item = 128 * 128 * 3;

  it("'fast' 500x375 -> 128x128 stays within about a level of 'sharp' and of an independent reference", async () => {
    const fast = await pixels('photos', { size: 128 });
    const full = await pixels('photos', { size: 128, jpegDecode: 'sharp' });
    expect(fast.length).toBe(3 * item);
    // The option does something (another decode), and what it does is close to sharp's full decode.
    expect(meanAbs(fast, full)).toBeGreaterThan(0.05);
    expect(meanAbs(fast, full)).toBeLessThan(1.5);
    for (let i = 0; i < originals.length; i++) {
      const decoded = await sharp(originals[i]!).raw().toBuffer();
      const reference = referenceResize(decoded, W, H, 3, 128, 128);
      expect(meanAbs(full.subarray(i * item, (i + 1) * item), reference)).toBeLessThan(0.6);
      expect(meanAbs(fast.subarray(i * item, (i + 1) * item), reference)).toBeLessThan(1.5);
    }
  });

  it("'fast' at a reduction below 2x (no DCT scale) matches the reference as closely as sharp", async () => {
    const fast = await pixels('photos', { size: 200 });
    const full = await pixels('photos', { size: 200, jpegDecode: 'sharp' });
    const decoded = await sharp(originals[0]!).raw().toBuffer();
    const reference = referenceResize(decoded, W, H, 3, 200, 200);
    const n = 200 * 200 * 3;
    expect(meanAbs(fast.subarray(0, n), reference)).toBeLessThan(0.6);
    expect(meanAbs(full.subarray(0, n), reference)).toBeLessThan(0.6);
  });

  it.skipIf(!decodeJpeg)("'fast' enlarging is half-pixel bilinear interpolation, as PIL's and PyTorch's", async () => {
    const dir = join(root, 'small');
    await mkdir(join(dir, 'a'), { recursive: true });
    const jpeg = await jpegOf(photoLike(100, 75, 8), 100, 75);
    await writeFile(join(dir, 'a', '1.jpg'), jpeg);
    const fast = await pixels('small', { size: 128 });
    const reference = referenceResize(await sharp(jpeg).raw().toBuffer(), 100, 75, 3, 128, 128);
    expect(meanAbs(fast, reference)).toBeLessThan(0.3); // rounding only; sharp's own enlargement is ~2.7 levels away
  });

  it('sharp at 1/2 scale (one channel, or an ICC profile) stays within about a level of the full decode', async () => {
    for (const [dir, channels] of [['photos', 1], ['icc', 3]] as const) {
      const fast = await pixels(dir, { size: 128, channels });
      const full = await pixels(dir, { size: 128, channels, jpegDecode: 'sharp' });
      expect(meanAbs(fast, full)).toBeGreaterThan(0.05);
      expect(meanAbs(fast, full)).toBeLessThan(1.5);
    }
  });

  it('progressive, greyscale, CMYK and odd-sized JPEGs come out close to sharp\'s decode', async () => {
    const dir = join(root, 'kinds');
    await mkdir(join(dir, 'a'), { recursive: true });
    const px = photoLike(W, H, 7);
    const raw = { raw: { width: W, height: H, channels: 3 as const } };
    await sharp(px, raw).jpeg({ quality: 85, progressive: true }).toFile(join(dir, 'a', '1-progressive.jpg'));
    await sharp(px, raw).toColourspace('b-w').jpeg({ quality: 85 }).toFile(join(dir, 'a', '2-grey.jpg'));
    await sharp(px, raw).toColourspace('cmyk').jpeg({ quality: 85 }).toFile(join(dir, 'a', '3-cmyk.jpg')); // libjpeg refuses CMYK -> RGB: sharp decodes it
    await sharp(px, raw).resize(333, 251).jpeg({ quality: 85 }).toFile(join(dir, 'a', '4-odd.jpg'));
    await sharp(px, raw).resize(1001, 751).jpeg({ quality: 85 }).toFile(join(dir, 'a', '5-large.jpg')); // 1/4 scale -> 251x188
    const fast = await pixels('kinds', { size: 128 });
    const full = await pixels('kinds', { size: 128, jpegDecode: 'sharp' });
    expect(fast.length).toBe(5 * item);
    for (let i = 0; i < 4; i++) expect(meanAbs(fast.subarray(i * item, (i + 1) * item), full.subarray(i * item, (i + 1) * item))).toBeLessThan(1.5);
    // At 1001x751 both decode at 1/4 scale yet differ by ~1.9 levels on this smooth image (their resizes after the
    // DCT scaling differ), so the fast path is checked against the reference instead.
    const reference = referenceResize(await sharp(join(dir, 'a', '5-large.jpg')).raw().toBuffer(), 1001, 751, 3, 128, 128);
    expect(meanAbs(fast.subarray(4 * item), reference)).toBeLessThan(1.5);
    const grey = fast.subarray(item, 2 * item);
    for (let p = 0; p < 128 * 128; p += 97) expect(grey[3 * p]).toBe(grey[3 * p + 2]); // grey stays grey in RGB
  });

  it('other fits and kernels are decoded by sharp alone', async () => {
    expect(same(await pixels('photos', { size: 128, fit: 'cover' }), await pixels('photos', { size: 128, fit: 'cover', jpegDecode: 'sharp' }))).toBe(true);
    expect(same(await pixels('photos', { size: 128, kernel: 'cubic' }), await pixels('photos', { size: 128, kernel: 'cubic', jpegDecode: 'sharp' }))).toBe(true);
  });

  it('rejects an unknown value; a file that disappears after listing is ERR_IO naming it', async () => {
    const err = await rejection(imageFolder(join(root, 'photos'), { size: 128, jpegDecode: 'lossy' as 'fast' }));
    expect(err.code).toBe('ERR_INVALID_ARG');
    expect(err.message).toContain('jpegDecode');
    const dir = join(root, 'gone');
    await mkdir(join(dir, 'a'), { recursive: true });
    await writeFile(join(dir, 'a', '1.jpg'), originals[0]!);
    await writeFile(join(dir, 'a', '2.jpg'), originals[1]!);
    const fast = await imageFolder(dir, { size: 16 });
    const full = await imageFolder(dir, { size: 16, jpegDecode: 'sharp' }); // sharp reads the file itself
    await rm(join(dir, 'a', '2.jpg'));
    for (const ds of [fast, full]) {
      const gone = await rejection(collect(ds.batches({ batchSize: 2 })));
      expect(gone.code).toBe('ERR_IO');
      expect(gone.details).toMatchObject({ file: join(dir, 'a', '2.jpg'), entry: 1 });
    }
  });
});
