import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageFolder } from '../../lib/data/image-folder.js';
import { transforms as t } from '../../lib/data/transforms.js';
import { collect, rejection, tempDir } from './helpers.js';

const solid = (width: number, height: number, channels: 1 | 3 | 4, colour: number[]) =>
  sharp(Buffer.from(Array.from({ length: width * height }, () => colour).flat()), { raw: { width, height, channels } });

describe('imageFolder', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let good: string;
  let jpeg: Buffer;
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir());
    good = join(root, 'good');
    await mkdir(join(good, 'cats'), { recursive: true });
    await mkdir(join(good, 'dogs'), { recursive: true });
    await solid(40, 30, 3, [200, 100, 50]).png().toFile(join(good, 'cats', 'a.png'));
    jpeg = await solid(50, 40, 3, [10, 200, 90]).jpeg({ quality: 95 }).toBuffer();
    await writeFile(join(good, 'cats', 'b.jpg'), jpeg);
    await solid(20, 20, 1, [77]).webp({ lossless: true }).toFile(join(good, 'dogs', 'c.webp'));
    await solid(10, 10, 4, [0, 0, 255, 128]).png().toFile(join(good, 'dogs', 'd.png'));
    // left column red, right column blue, 2 wide x 1 high
    await sharp(Buffer.from([255, 0, 0, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 3 } }).png().toFile(join(good, 'dogs', 'e.png'));
  });
  afterAll(() => cleanup());

  it('lists classes from sub-folders, decodes PNG/JPEG/WebP, resizes and rescales to [0,1] NCHW', async () => {
    const ds = await imageFolder(good, { size: 8 });
    expect(ds.classes).toEqual(['cats', 'dogs']);
    expect(ds.length).toBe(5);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 1, 1, 1]);
    expect(ds.itemShape).toEqual([3, 8, 8]);
    const [batch] = await collect(ds.batches({ batchSize: 4 }));
    const x = batch!.feeds.input!.data as Float32Array;
    expect(batch!.feeds.input!.dims).toEqual([4, 3, 8, 8]);
    const plane = 64;
    // a.png: solid (200,100,50), lossless
    expect(x[0]).toBeCloseTo(200 / 255, 6);
    expect(x[plane + 10]).toBeCloseTo(100 / 255, 6);
    expect(x[2 * plane + 63]).toBeCloseTo(50 / 255, 6);
    // b.jpg: (10,200,90) within JPEG error
    expect(Math.abs(x[192]! * 255 - 10)).toBeLessThan(6);
    expect(Math.abs(x[192 + plane]! * 255 - 200)).toBeLessThan(6);
    // c.webp: gray 77 becomes three equal channels
    for (const c of [0, 1, 2]) expect(x[384 + c * plane + 5]).toBeCloseTo(77 / 255, 6);
    // d.png: alpha dropped, blue kept
    expect(x[576 + 2 * plane]).toBeCloseTo(1, 6);
    expect(x[576]).toBeCloseTo(0, 6);
  });

  it('HWC from sharp becomes CHW exactly (no resize at the native size); channels: 1 and NHWC uint8', async () => {
    const ds = await imageFolder(good, { size: [1, 2], transforms: [t.dtype('uint8')] });
    const batches = await collect(ds.batches({ batchSize: 5 }));
    const x = batches[0]!.feeds.input!.data as Uint8Array;
    expect(Array.from(x.subarray(4 * 6, 5 * 6))).toEqual([255, 0, 0, 0, 0, 255]); // R plane, G plane, B plane
    const nhwc = await imageFolder(good, { size: [1, 2], transforms: [t.layout('NHWC'), t.dtype('uint8')] });
    const [b] = await collect(nhwc.batches({ batchSize: 5 }));
    expect(b!.feeds.input!.dims).toEqual([5, 1, 2, 3]);
    expect(Array.from((b!.feeds.input!.data as Uint8Array).subarray(24))).toEqual([255, 0, 0, 0, 0, 255]);
    const gray = await imageFolder(good, { size: 4, channels: 1 });
    expect(gray.itemShape).toEqual([1, 4, 4]);
    const [g] = await collect(gray.batches({ batchSize: 5 }));
    expect((g!.feeds.input!.data as Float32Array)[32]).toBeCloseTo(77 / 255, 2);
  });

  it("onCorrupt 'skip' warns naming each bad file and fills batches from the next files", async () => {
    const dir = join(root, 'mixed');
    await mkdir(join(dir, 'x'), { recursive: true });
    await solid(8, 8, 3, [1, 2, 3]).png().toFile(join(dir, 'x', '1.png'));
    await writeFile(join(dir, 'x', '2.jpg'), Buffer.from('this is not a jpeg at all'));
    await writeFile(join(dir, 'x', '3.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    await writeFile(join(dir, 'x', 'notes.txt'), 'hello');
    await solid(8, 8, 3, [4, 5, 6]).png().toFile(join(dir, 'x', '4.png'));
    const warnings: { message: string; file?: string }[] = [];
    const ds = await imageFolder(dir, { size: 8, onCorrupt: 'skip', transforms: [t.dtype('uint8')], onWarning: (message, d) => warnings.push({ message, file: d.file }) });
    expect(ds.length).toBe(4); // notes.txt left out at listing
    const batches = await collect(ds.batches({ batchSize: 2 }));
    expect(batches).toHaveLength(1);
    const x = batches[0]!.feeds.input!.data as Uint8Array;
    expect([x[0], x[64 * 3]]).toEqual([1, 4]);
    // notes.txt is found at listing; the two decode failures are reported as their parallel loads finish
    expect(warnings[0]!.file).toBe(join(dir, 'x', 'notes.txt'));
    expect(warnings.slice(1).map((w) => w.file).sort()).toEqual([join(dir, 'x', '2.jpg'), join(dir, 'x', '3.jpg')]);
    expect(warnings.find((w) => w.file?.endsWith('2.jpg'))!.message).toMatch(/skipped .*2\.jpg: cannot decode image/);
  });

  it("onCorrupt 'error' (the default) throws ERR_DATA_FORMAT naming the file", async () => {
    const dir = join(root, 'bad');
    await mkdir(join(dir, 'x'), { recursive: true });
    await solid(8, 8, 3, [1, 2, 3]).png().toFile(join(dir, 'x', '1.png'));
    await writeFile(join(dir, 'x', '2.png'), Buffer.from('garbage bytes'));
    const ds = await imageFolder(dir, { size: 8 });
    const err = await rejection(collect(ds.batches({ batchSize: 1, prefetch: 2 })));
    expect(err.code).toBe('ERR_DATA_FORMAT');
    expect(err.details).toMatchObject({ file: join(dir, 'x', '2.png'), entry: 1 });
    await writeFile(join(dir, 'x', 'readme.md'), 'x');
    const listing = await rejection(imageFolder(dir, { size: 8 }));
    expect(listing.code).toBe('ERR_DATA_FORMAT');
    expect(listing.message).toContain(join(dir, 'x', 'readme.md'));
  });

  it('an empty folder is ERR_DATA, a missing one ERR_IO, a bad size ERR_INVALID_ARG', async () => {
    const empty = join(root, 'empty');
    await mkdir(join(empty, 'cats'), { recursive: true });
    const err = await rejection(imageFolder(empty, { size: 8 }));
    expect(err.code).toBe('ERR_DATA');
    expect(err.message).toContain(empty);
    const missing = await rejection(imageFolder(join(root, 'nope'), { size: 8 }));
    expect(missing.code).toBe('ERR_IO');
    expect(missing.message).toContain(join(root, 'nope'));
    expect((await rejection(imageFolder(good, { size: 0 }))).code).toBe('ERR_INVALID_ARG');
  });
});
