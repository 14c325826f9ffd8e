/** CIFAR-10 binary version: records of 1 label byte + 3072 bytes (R, G, B planes of 32x32). */
import { join } from 'node:path';
import { invalid, is } from '../engine/options.js';
import { ItemDataset } from './dataset.js';
import { formatError, readDataFile } from './files.js';
import { transforms as t, type TransformStep } from './transforms.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
export const CIFAR10_NORMALIZATION = { scale: 1 / 255, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] } as const;
export const CIFAR10_RECORD_BYTES = 3073;
/** Input side the study used for CIFAR-10 (VGG16 needs at least 32; the paper resized to 48x48x3). */
export const STUDY_CIFAR10_SIZE = 48;

export interface Cifar10Options {
  dir: string;
  split?: 'train' | 'test';
  /** Resize (bilinear) to size x size; default 32 (no resize). */
  size?: number;
  /** Steps replacing the default [resize to `size`] + per-channel normalisation. */
  transforms?: readonly TransformStep[];
}

export async function cifar10(options: Cifar10Options): Promise<ItemDataset> {
  const { dir } = options ?? {};
  const split = options?.split ?? 'train';
  const size = options?.size ?? 32;
  if (!is.string(dir)) throw invalid('cifar10 dir', 'a directory path', dir);
  if (!is.oneOf(split, ['train', 'test'] as const)) throw invalid('cifar10 split', "'train' or 'test'", split);
  if (!is.posInt(size)) throw invalid('cifar10 size', 'a positive integer', size);
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const files = names.map((n) => join(dir, n));
  const buffers = await Promise.all(files.map(readDataFile));
  buffers.forEach((buf, f) => {
    if (buf.length === 0 || buf.length % CIFAR10_RECORD_BYTES !== 0) {
      const whole = Math.floor(buf.length / CIFAR10_RECORD_BYTES);
      throw formatError(files[f]!, whole * CIFAR10_RECORD_BYTES, `size ${buf.length} is not a positive multiple of the ${CIFAR10_RECORD_BYTES}-byte record (${whole} whole records, then ${buf.length % CIFAR10_RECORD_BYTES} bytes)`);
    }
    for (let r = 0; r < buf.length; r += CIFAR10_RECORD_BYTES) {
      if (buf[r]! >= CIFAR10_CLASSES.length) throw formatError(files[f]!, r, `record ${r / CIFAR10_RECORD_BYTES} has label ${buf[r]}, not a class index 0..9`);
    }
  });
  const all = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
  const count = all.length / CIFAR10_RECORD_BYTES;
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = all[i * CIFAR10_RECORD_BYTES]!;
  return new ItemDataset({
    name: `cifar10:${split}`,
    store: {
      format: { channels: 3, height: 32, width: 32, layout: 'CHW', dtype: 'uint8' },
      length: count,
      get: (i) => all.subarray(i * CIFAR10_RECORD_BYTES + 1, (i + 1) * CIFAR10_RECORD_BYTES),
    },
    transforms: options.transforms ?? [...(size === 32 ? [] : [t.resize(size)]), t.normalize(CIFAR10_NORMALIZATION)],
    labels,
    classes: CIFAR10_CLASSES,
  });
}
