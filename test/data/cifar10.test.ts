import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cifar10, CIFAR10_NORMALIZATION } from '../../lib/data/cifar10.js';
import { transforms as t } from '../../lib/data/transforms.js';
import { collect, rejection, tempDir } from './helpers.js';

/** One CIFAR-10 record: label byte, then R, G, B planes of 32x32 each filled by `pixel(c, y, x)`. */
function record(label: number, pixel: (c: number, y: number, x: number) => number): Buffer {
  const b = Buffer.alloc(3073);
  b[0] = label;
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) b[1 + c * 1024 + y * 32 + x] = pixel(c, y, x);
  return b;
}

describe('cifar10 binary format', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(join(dir, 'test_batch.bin'), Buffer.concat([record(3, (c) => [255, 0, 51][c]!), record(9, (c, y, x) => (c * 100 + y + x) & 255), record(0, () => 0)]));
    for (let i = 1; i <= 5; i++) await writeFile(join(dir, `data_batch_${i}.bin`), Buffer.concat([record(i, () => i), record(i + 1, () => 0)]));
  });
  afterAll(() => cleanup());

  it('reads labels and RGB planes, normalises per channel', async () => {
    const ds = await cifar10({ dir, split: 'test' });
    expect(ds.length).toBe(3);
    expect(Array.from(ds.labels!)).toEqual([3, 9, 0]);
    expect(ds.classes![3]).toBe('cat');
    expect(ds.itemShape).toEqual([3, 32, 32]);
    const [batch] = await collect(ds.batches({ batchSize: 3 }));
    const x = batch!.feeds.input!.data as Float32Array;
    const { mean, std } = CIFAR10_NORMALIZATION;
    expect(x[0]).toBeCloseTo((1 - mean[0]) / std[0], 5); // R plane = 255
    expect(x[1024]).toBeCloseTo((0 - mean[1]) / std[1], 5); // G plane = 0
    expect(x[2048 + 500]).toBeCloseTo((0.2 - mean[2]) / std[2], 5); // B plane = 51
    // Item 1, channel 2, y=1, x=2: (200 + 3) & 255 = 203
    expect(x[3072 + 2048 + 32 + 2]).toBeCloseTo((203 / 255 - mean[2]) / std[2], 5);
  });

  it('train split concatenates data_batch_1..5; the study size resizes to 48x48x3', async () => {
    const ds = await cifar10({ dir, split: 'train', size: 48 });
    expect(ds.length).toBe(10);
    expect(Array.from(ds.labels!)).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    expect(ds.itemShape).toEqual([3, 48, 48]);
    const raw = await cifar10({ dir, split: 'train', transforms: [t.resize(48), t.dtype('uint8')] });
    const [batch] = await collect(raw.batches({ batchSize: 1, limit: 1 }));
    expect(batch!.feeds.input!.dims).toEqual([1, 3, 48, 48]);
    expect((batch!.feeds.input!.data as Uint8Array).every((v) => v === 1)).toBe(true); // constant image stays constant
  });

  it('a file whose size is not a multiple of 3073 names the file and offset; a missing file is ERR_IO', async () => {
    await writeFile(join(dir, 'test_batch.bin'), Buffer.concat([record(1, () => 0), Buffer.alloc(100)]));
    const err = await rejection(cifar10({ dir, split: 'test' }));
    expect(err.code).toBe('ERR_DATA_FORMAT');
    expect(err.details).toMatchObject({ file: join(dir, 'test_batch.bin'), offset: 3073 });
    expect(err.message).toMatch(/3173 is not a positive multiple of the 3073-byte record/);
    await writeFile(join(dir, 'test_batch.bin'), record(12, () => 0));
    expect((await rejection(cifar10({ dir, split: 'test' }))).message).toMatch(/label 12/);
    const missing = await rejection(cifar10({ dir: join(dir, 'nope'), split: 'test' }));
    expect(missing.code).toBe('ERR_IO');
    expect(missing.message).toContain(join(dir, 'nope', 'test_batch.bin'));
  });
});
