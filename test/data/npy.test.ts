import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npy, parseNpy } from '../../lib/data/npy.js';
import { collect, npyBytes, rejection, tempDir } from './helpers.js';

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('npy', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('parses a v1 header written byte by byte', () => {
    const file = npyBytes('<f4', [2, 3], bytesOf(Float32Array.from([1, 2, 3, 4, 5, 6])));
    expect(file.subarray(0, 10)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]));
    const parsed = parseNpy(file, 'a.npy');
    expect(parsed).toMatchObject({ descr: '<f4', shape: [2, 3], offset: 128 });
  });

  it('float32 [N,C,H,W] with int64 labels; uint8 [N,H,W] in a v2 file', async () => {
    const values = Float32Array.from({ length: 2 * 2 * 2 * 2 }, (_, i) => i / 2);
    await writeFile(join(dir, 'x.npy'), npyBytes('<f4', [2, 2, 2, 2], bytesOf(values)));
    await writeFile(join(dir, 'y.npy'), npyBytes('<i8', [2], bytesOf(BigInt64Array.from([7n, 3n]))));
    const ds = await npy(join(dir, 'x.npy'), { labels: join(dir, 'y.npy') });
    expect(ds.itemShape).toEqual([2, 2, 2]);
    expect(Array.from(ds.labels!)).toEqual([7, 3]);
    const [batch] = await collect(ds.batches({ batchSize: 2 }));
    expect(Array.from(batch!.feeds.input!.data)).toEqual(Array.from(values));

    await writeFile(join(dir, 'u8.npy'), npyBytes('|u1', [3, 2, 2], Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), { version: 2 }));
    const u8 = await npy(join(dir, 'u8.npy'));
    expect(u8.itemShape).toEqual([1, 2, 2]);
    expect(u8.length).toBe(3);
    const [b] = await collect(u8.batches({ batchSize: 3 }));
    expect(Array.from(b!.feeds.input!.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('NHWC 4-D arrays are read as HWC and written NCHW', async () => {
    // one item, H=1, W=2, C=3: pixel0 = (1,2,3), pixel1 = (4,5,6)
    await writeFile(join(dir, 'hwc.npy'), npyBytes('<f4', [1, 1, 2, 3], bytesOf(Float32Array.from([1, 2, 3, 4, 5, 6]))));
    const ds = await npy(join(dir, 'hwc.npy'), { layout: 'NHWC' });
    expect(ds.itemShape).toEqual([3, 1, 2]);
    const [b] = await collect(ds.batches());
    expect(Array.from(b!.feeds.input!.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('unsupported dtype, Fortran order, truncation, label count mismatch and a missing file', async () => {
    await writeFile(join(dir, 'f8.npy'), npyBytes('<f8', [1, 1, 1], bytesOf(Float64Array.from([1]))));
    const f8 = await rejection(npy(join(dir, 'f8.npy')));
    expect(f8.code).toBe('ERR_DATA_FORMAT');
    expect(f8.message).toMatch(/f8\.npy.*unsupported dtype '<f8'/);

    await writeFile(join(dir, 'fortran.npy'), npyBytes('<f4', [1, 2, 2], bytesOf(new Float32Array(4)), { fortran: true }));
    const fortran = await rejection(npy(join(dir, 'fortran.npy')));
    expect(fortran.code).toBe('ERR_DATA_FORMAT');
    expect(fortran.message).toMatch(/fortran\.npy.*Fortran-order/);
    expect(fortran.details.offset).toBe(10);

    const whole = npyBytes('<f4', [2, 2, 2], bytesOf(new Float32Array(8)));
    await writeFile(join(dir, 'short.npy'), whole.subarray(0, whole.length - 4));
    const short = await rejection(npy(join(dir, 'short.npy')));
    expect(short.details).toMatchObject({ file: join(dir, 'short.npy'), offset: whole.length - 4 });

    await writeFile(join(dir, 'y3.npy'), npyBytes('<i4', [3], bytesOf(Int32Array.from([0, 1, 2]))));
    const mismatch = await rejection(npy(join(dir, 'x.npy'), { labels: join(dir, 'y3.npy') }));
    expect(mismatch.code).toBe('ERR_DATA');
    expect(mismatch.message).toMatch(/3 labels but .*x\.npy has 2 items/);

    await writeFile(join(dir, 'junk.npy'), Buffer.from('hello world'));
    expect((await rejection(npy(join(dir, 'junk.npy')))).message).toMatch(/magic/);
    const missing = await rejection(npy(join(dir, 'absent.npy')));
    expect(missing.code).toBe('ERR_IO');
    expect(missing.details.file).toBe(join(dir, 'absent.npy'));
  });
});
