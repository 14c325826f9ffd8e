/** Fashion-MNIST from its IDX files (gzipped or not). */
import { existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { packageRoot } from '../native/addon.js';
import { TrtnError } from '../errors.js';
import { invalid, is } from '../engine/options.js';
import { ItemDataset } from './dataset.js';
import { formatError, readMaybeGzip } from './files.js';
import { transforms as t, type TransformStep } from './transforms.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
/** The 600 + 600 image stratified subset a clone of the project ships (scripts/make-fashion-mnist-fixture.mjs). */
export const FASHION_MNIST_FIXTURE_DIR = join(packageRoot, 'test', 'fixtures', 'fashion-mnist');
const FULL_SET_FIX = 'apt-get install -y dataset-fashion-mnist (Debian/Ubuntu), or pass dir (spec fashion-mnist:test@<dir>)';

let subsetNoticeShown = false;

/**
 * Where fashionMnist() reads when no dir is given: $TRTN_FASHION_MNIST_DIR, else Debian's package, else (in a
 * clone of the project) the fixture subset, announced once on stderr, else the Debian path (reading it fails
 * with ERR_IO and the fix).
 */
export function defaultFashionMnistDir(): string {
  const env = process.env.TRTN_FASHION_MNIST_DIR;
  if (env) return env;
  if (existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz')) || existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte'))) return FASHION_MNIST_DIR;
  if (existsSync(FASHION_MNIST_FIXTURE_DIR)) {
    if (!subsetNoticeShown) {
      subsetNoticeShown = true;
      process.stderr.write(`tensorrt-node: Fashion-MNIST is not installed at ${FASHION_MNIST_DIR}; using the 600-image-per-split subset in ${FASHION_MNIST_FIXTURE_DIR} (accuracy figures are on that subset). For the full set: ${FULL_SET_FIX}\n`);
    }
    return FASHION_MNIST_FIXTURE_DIR;
  }
  return FASHION_MNIST_DIR;
}
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
/** Mean and standard deviation of the training pixels scaled to [0, 1]; the models in test/fixtures expect this. */
export const FASHION_MNIST_NORMALIZATION = { scale: 1 / 255, mean: 0.286, std: 0.353 } as const;

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parse an IDX file of unsigned bytes (type 0x08): magic 00 00 08 <ndim>, ndim big-endian uint32 dims, data. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw formatError(file, bytes.length, `truncated IDX header: ${bytes.length} bytes, need at least 4`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw formatError(file, 0, `wrong IDX magic ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')} (expected 00 00 08 <ndim>)`);
  }
  if (bytes[2] !== 0x08) throw formatError(file, 2, `unsupported IDX element type 0x${bytes[2]!.toString(16)} (only 0x08, unsigned byte)`);
  const ndim = bytes[3]!;
  if (ndim === 0) throw formatError(file, 3, 'IDX file with 0 dimensions');
  const headerSize = 4 + 4 * ndim;
  if (bytes.length < headerSize) throw formatError(file, bytes.length, `truncated IDX header: ${ndim} dims need ${headerSize} bytes, file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerSize;
  if (actual < expected) {
    throw formatError(file, bytes.length, `truncated IDX data: dims [${dims.join(', ')}] need ${expected} bytes after the ${headerSize}-byte header, file ends after ${actual}`, { expected: headerSize + expected });
  }
  if (actual > expected) throw formatError(file, headerSize + expected, `${actual - expected} unexpected bytes after the IDX data [${dims.join(', ')}]`);
  return { dims, data: bytes.subarray(headerSize) };
}

async function firstExisting(paths: string[]): Promise<string> {
  for (const p of paths) {
    try {
      await access(p);
      return p;
    } catch {
      // try the next spelling
    }
  }
  return paths[0]!; // reading it reports ERR_IO naming the expected path
}

export interface FashionMnistOptions {
  dir?: string;
  split?: 'train' | 'test';
  /** Steps replacing the default normalisation (x/255 - 0.2860) / 0.3530. */
  transforms?: readonly TransformStep[];
}

export async function fashionMnist(options: FashionMnistOptions = {}): Promise<ItemDataset> {
  const dir = options.dir ?? defaultFashionMnistDir();
  const split = options.split ?? 'train';
  if (!is.string(dir)) throw invalid('fashionMnist dir', 'a directory path', dir);
  if (!is.oneOf(split, ['train', 'test'] as const)) throw invalid('fashionMnist split', "'train' or 'test'", split);
  const prefix = split === 'train' ? 'train' : 't10k';
  const [imagesFile, labelsFile] = await Promise.all(
    [`${prefix}-images-idx3-ubyte`, `${prefix}-labels-idx1-ubyte`].map((base) => firstExisting([join(dir, `${base}.gz`), join(dir, base)])),
  );
  // Both read at once; when both fail, the images file's error is the one reported (not whichever failed first).
  const [imageRead, labelRead] = await Promise.allSettled([readMaybeGzip(imagesFile!), readMaybeGzip(labelsFile!)]);
  if (imageRead.status === 'rejected' && dir === FASHION_MNIST_DIR && !existsSync(dir)) {
    throw new TrtnError('ERR_IO', `Fashion-MNIST is not installed (${dir} does not exist); ${FULL_SET_FIX}`, { file: imagesFile, fix: FULL_SET_FIX });
  }
  if (imageRead.status === 'rejected') throw imageRead.reason;
  if (labelRead.status === 'rejected') throw labelRead.reason;
  const [imageBytes, labelBytes] = [imageRead.value, labelRead.value];
  const images = parseIdx(imageBytes, imagesFile!);
  const labels = parseIdx(labelBytes, labelsFile!);
  if (images.dims.length !== 3) throw formatError(imagesFile!, 3, `expected 3 dims [N, H, W], found [${images.dims.join(', ')}]`);
  if (labels.dims.length !== 1) throw formatError(labelsFile!, 3, `expected 1 dim [N], found [${labels.dims.join(', ')}]`);
  const [count, height, width] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new TrtnError('ERR_DATA', `${labelsFile} has ${labels.dims[0]} labels but ${imagesFile} has ${count} images`, { file: labelsFile, images: count, labels: labels.dims[0] });
  }
  const bad = labels.data.findIndex((v) => v >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw formatError(labelsFile!, 8 + bad, `label ${labels.data[bad]} of item ${bad} is not a class index 0..9`);
  const pixels = images.data;
  const itemSize = height * width;
  return new ItemDataset({
    // The subset says so in its name, which reports print next to every accuracy figure.
    name: resolve(dir) === FASHION_MNIST_FIXTURE_DIR ? `fashion-mnist:${split} (${count}-image subset, test/fixtures/fashion-mnist; full set: apt-get install dataset-fashion-mnist)` : `fashion-mnist:${split}`,
    store: {
      format: { channels: 1, height, width, layout: 'CHW', dtype: 'uint8' },
      length: count,
      get: (i) => pixels.subarray(i * itemSize, (i + 1) * itemSize),
      getRun: (start, count) => pixels.subarray(start * itemSize, (start + count) * itemSize),
    },
    transforms: options.transforms ?? [t.normalize(FASHION_MNIST_NORMALIZATION)],
    labels: Int32Array.from(labels.data),
    classes: FASHION_MNIST_CLASSES,
  });
}
