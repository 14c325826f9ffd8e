import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFashionMnistDir, FASHION_MNIST_DIR, FASHION_MNIST_FIXTURE_DIR, fashionMnist, parseIdx } from '../../lib/data/fashion-mnist.js';
import { transforms as t } from '../../lib/data/transforms.js';
import { collect, rejection, tempDir, thrown } from './helpers.js';

// The files the tests read (vitest.config.ts): Debian's full set, or the subset fixture, which keeps the first 60
// items of each class in file order, so its first items are the full set's.
const dir = defaultFashionMnistDir();
const full = dir !== FASHION_MNIST_FIXTURE_DIR;
const [trainCount, testCount] = full ? [60000, 10000] : [600, 600];
// Independent reading of the raw test bytes: header is 16 bytes for images, 8 for labels.
const rawTestImages = gunzipSync(readFileSync(join(dir, 't10k-images-idx3-ubyte.gz'))).subarray(16);

describe(`fashionMnist on the real files (${full ? 'the full set' : 'the subset fixture'} in ${dir})`, () => {
  it('train split: [1,28,28] float32 items, as many per class, first label 9', async () => {
    const ds = await fashionMnist({ split: 'train' });
    expect(ds.length).toBe(trainCount);
    expect(ds.itemShape).toEqual([1, 28, 28]);
    expect(ds.dtype).toBe('float32');
    const histogram = new Array(10).fill(0);
    for (const label of ds.labels!) histogram[label]++;
    expect(histogram).toEqual(new Array(10).fill(trainCount / 10));
    expect(ds.labels![0]).toBe(9);
  });

  it("test split: all items, first label 9 'Ankle boot', pixels normalised as (x/255 - 0.2860)/0.3530", async () => {
    const ds = await fashionMnist({ split: 'test' });
    expect(ds.length).toBe(testCount);
    expect(ds.labels![0]).toBe(9);
    expect(ds.classes![ds.labels![0]!]).toBe('Ankle boot');
    const [first] = await collect(ds.batches({ batchSize: 64, limit: 64 }));
    const input = first!.feeds.input!;
    expect(input.dims).toEqual([64, 1, 28, 28]);
    const x = input.data as Float32Array;
    // Hand-computed: pixel 0 of image 0 is 0 -> -0.286/0.353; pixel 221 is 37; pixel 249 is 119; pixel 577 is 255.
    expect(rawTestImages[221]).toBe(37);
    expect(rawTestImages[577]).toBe(255);
    expect(x[0]).toBeCloseTo(-0.8101983, 6);
    expect(x[221]).toBeCloseTo(-0.3991557, 6);
    expect(x[249]).toBeCloseTo(0.5118036, 6);
    expect(x[577]).toBeCloseTo(2.0226629, 6);
    // Every value of the first batch follows the formula from the raw bytes.
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - (rawTestImages[i]! / 255 - 0.286) / 0.353));
    expect(worst).toBeLessThan(1e-6);
    expect(Array.from(first!.labels!.subarray(0, 4))).toEqual([9, 2, 1, 1]);
  });

  it('shuffled batches (item by item) hold the same normalised images as their labels say', async () => {
    const ds = await fashionMnist({ split: 'test' });
    const [batch] = await collect(ds.batches({ batchSize: 32, shuffle: true, seed: 3, limit: 32 }));
    const x = batch!.feeds.input!.data as Float32Array;
    const rawLabels = gunzipSync(readFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'))).subarray(8);
    let matched = 0;
    for (let row = 0; row < 32; row++) {
      // find the source image by its first 784 values; it must carry the same label
      const item = x.subarray(row * 784, row * 784 + 784);
      for (let i = 0; i < testCount; i++) {
        if (item.every((v, k) => Math.abs(v - (rawTestImages[i * 784 + k]! / 255 - 0.286) / 0.353) < 1e-6)) {
          expect(batch!.labels![row]).toBe(rawLabels[i]);
          matched++;
          break;
        }
      }
    }
    expect(matched).toBe(32);
  });

  it('custom transforms replace the default normalisation (raw bytes as uint8, resized)', async () => {
    const ds = await fashionMnist({ split: 'test', transforms: [t.dtype('uint8')] });
    const [batch] = await collect(ds.batches({ batchSize: 2, limit: 2 }));
    expect(Array.from(batch!.feeds.input!.data)).toEqual(Array.from(rawTestImages.subarray(0, 2 * 784)));
    const big = await fashionMnist({ split: 'test', transforms: [t.resize(32), t.rgb(), t.rescale(1 / 255)] });
    expect(big.itemShape).toEqual([3, 32, 32]);
  });
});

describe.skipIf(!existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')))('the subset fixture against the full set (needs dataset-fashion-mnist)', () => {
  it('holds, per split, the first 60 items of each class of the full set, byte for byte, in file order', async () => {
    for (const split of ['train', 'test'] as const) {
      const [sub, all] = await Promise.all([fashionMnist({ split, dir: FASHION_MNIST_FIXTURE_DIR, transforms: [t.dtype('uint8')] }), fashionMnist({ split, dir: FASHION_MNIST_DIR, transforms: [t.dtype('uint8')] })]);
      expect(sub.length).toBe(600);
      expect(sub.name).toMatch(/600-image subset/);
      const taken = new Array(10).fill(0);
      const picked: number[] = [];
      all.labels!.forEach((label, i) => { if (taken[label]! < 60) { taken[label]!++; picked.push(i); } });
      const [subBatch] = await collect(sub.batches({ batchSize: 600 }));
      const allBatch = (await collect(all.batches({ batchSize: all.length })))[0]!;
      const a = allBatch.feeds.input!.data as Uint8Array;
      const b = subBatch!.feeds.input!.data as Uint8Array;
      picked.forEach((src, k) => {
        expect(sub.labels![k]).toBe(all.labels![src]);
        expect(Buffer.compare(Buffer.from(b.subarray(k * 784, (k + 1) * 784)), Buffer.from(a.subarray(src * 784, (src + 1) * 784)))).toBe(0);
      });
    }
  });
});

describe('IDX errors', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const header = (dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b[2] = 0x08;
    b[3] = dims.length;
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('parses a hand-made IDX file', () => {
    const idx = parseIdx(Buffer.concat([header([2, 1, 3]), Buffer.from([1, 2, 3, 4, 5, 6])]), 'x.idx');
    expect(idx.dims).toEqual([2, 1, 3]);
    expect(Array.from(idx.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('wrong magic, truncated data and a truncated header name the file and the byte offset', () => {
    const magic = thrown(() => parseIdx(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]), 'bad.idx'));
    expect(magic.code).toBe('ERR_DATA_FORMAT');
    expect(magic.message).toMatch(/bad\.idx.*wrong IDX magic 1f 8b 08 00.*offset 0/);
    expect(magic.details).toMatchObject({ file: 'bad.idx', offset: 0 });
    const truncated = thrown(() => parseIdx(Buffer.concat([header([3, 2, 2]), Buffer.alloc(10)]), 'short.idx'));
    expect(truncated.code).toBe('ERR_DATA_FORMAT');
    expect(truncated.details).toMatchObject({ file: 'short.idx', offset: 26, expected: 28 });
    expect(truncated.message).toMatch(/need 12 bytes.*ends after 10/);
    expect(thrown(() => parseIdx(header([3, 2, 2]).subarray(0, 9), 'h.idx')).details).toMatchObject({ offset: 9 });
    expect(thrown(() => parseIdx(Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), 'f.idx')).message).toMatch(/element type 0xd/);
  });

  it('a truncated .gz, a label count mismatch and missing files are typed errors', async () => {
    const images = Buffer.concat([header([3, 2, 2]), Buffer.alloc(12)]);
    await writeFile(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(images).subarray(0, 20));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), Buffer.concat([header([2]), Buffer.from([1, 2])]));
    const gz = await rejection(fashionMnist({ dir, split: 'test' }));
    expect(gz.code).toBe('ERR_DATA_FORMAT');
    expect(gz.details.file).toBe(join(dir, 't10k-images-idx3-ubyte.gz'));

    await writeFile(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(images));
    const mismatch = await rejection(fashionMnist({ dir, split: 'test' }));
    expect(mismatch.code).toBe('ERR_DATA');
    expect(mismatch.message).toMatch(/2 labels but .* has 3 images/);

    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), Buffer.concat([header([3]), Buffer.from([1, 2, 3])]));
    const ok = await fashionMnist({ dir, split: 'test' });
    expect(Array.from(ok.labels!)).toEqual([1, 2, 3]);

    const missing = await rejection(fashionMnist({ dir, split: 'train' }));
    expect(missing.code).toBe('ERR_IO');
    expect(missing.message).toContain(join(dir, 'train-images-idx3-ubyte.gz'));
  });
});
