/** NumPy .npy arrays (format versions 1-3, C order): float32 or uint8 images, integer labels. */
import { TrtnError } from '../errors.js';
import { invalid, is } from '../engine/options.js';
import { ItemDataset } from './dataset.js';
import { formatError, readDataFile } from './files.js';
import type { TransformStep } from './transforms.js';

export interface NpyArray {
  /** NumPy descr, e.g. '<f4'. */
  descr: string;
  shape: number[];
  /** Byte offset of the data. */
  offset: number;
  data: Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const ITEM_BYTES: Record<string, number> = { u1: 1, i1: 1, u2: 2, i2: 2, u4: 4, i4: 4, u8: 8, i8: 8, f2: 2, f4: 4, f8: 8 };

/** Parse the header of a .npy file; the data is checked to be exactly the size the shape needs. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw formatError(file, 0, 'not a .npy file (magic \\x93NUMPY missing)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw formatError(file, 6, `unsupported .npy format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw formatError(file, bytes.length, 'truncated .npy header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const offset = 8 + lengthBytes + headerLength;
  if (bytes.length < offset) throw formatError(file, bytes.length, `truncated .npy header: it declares ${headerLength} bytes`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, offset));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw formatError(file, 8 + lengthBytes, `malformed .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw formatError(file, 8 + lengthBytes, 'Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw formatError(file, 8 + lengthBytes, `bad shape (${shapeText})`);
  const m = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const itemBytes = m ? ITEM_BYTES[`${m[2]}${m[3]}`] : undefined;
  if (!m || itemBytes === undefined || (m[1] === '>' && itemBytes > 1)) throw formatError(file, 8 + lengthBytes, `unsupported dtype '${descr}'`, { dtype: descr });
  const expected = shape.reduce((a, b) => a * b, 1) * itemBytes;
  const actual = bytes.length - offset;
  if (actual !== expected) {
    throw formatError(file, actual < expected ? bytes.length : offset + expected, `shape (${shape.join(', ')}) of '${descr}' needs ${expected} data bytes, file has ${actual}`);
  }
  return { descr, shape, offset, data: bytes.subarray(offset) };
}

function kindOf(descr: string): string {
  return descr.slice(1);
}

/** Labels from an integer .npy array of one dimension. */
export function npyLabels(array: NpyArray, file: string): Int32Array {
  const kind = kindOf(array.descr);
  if (array.shape.length !== 1) throw formatError(file, array.offset, `labels must have 1 dimension, found (${array.shape.join(', ')})`);
  const n = array.shape[0]!;
  const view = new DataView(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const read: Record<string, (i: number) => number> = {
    u1: (i) => view.getUint8(i),
    i1: (i) => view.getInt8(i),
    u2: (i) => view.getUint16(2 * i, true),
    i2: (i) => view.getInt16(2 * i, true),
    u4: (i) => view.getUint32(4 * i, true),
    i4: (i) => view.getInt32(4 * i, true),
    i8: (i) => Number(view.getBigInt64(8 * i, true)),
    u8: (i) => Number(view.getBigUint64(8 * i, true)),
  };
  const get = read[kind];
  if (!get) throw formatError(file, array.offset, `unsupported label dtype '${array.descr}' (integers only)`, { dtype: array.descr });
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (v < 0 || v > 0x7fffffff) throw formatError(file, array.offset + i * ITEM_BYTES[kind]!, `label ${v} of item ${i} is not a class index`);
    labels[i] = v;
  }
  return labels;
}

export interface NpyOptions {
  /** A .npy file of integer labels, one per item. */
  labels?: string;
  /** Layout of a 4-D array: [N, C, H, W] (default) or [N, H, W, C]. A 3-D array is [N, H, W]. */
  layout?: 'NCHW' | 'NHWC';
  transforms?: readonly TransformStep[];
}

export async function npy(file: string, options: NpyOptions = {}): Promise<ItemDataset> {
  if (!is.string(file)) throw invalid('npy file', 'a file path', file);
  const layout = options.layout ?? 'NCHW';
  if (!is.oneOf(layout, ['NCHW', 'NHWC'] as const)) throw invalid('npy layout', "'NCHW' or 'NHWC'", layout);
  const bytes = await readDataFile(file);
  const array = parseNpy(bytes, file);
  const kind = kindOf(array.descr);
  if (kind !== 'f4' && kind !== 'u1') throw formatError(file, 8, `unsupported dtype '${array.descr}' for images (float32 '<f4' or uint8 '|u1')`, { dtype: array.descr });
  const { shape } = array;
  if (shape.length !== 3 && shape.length !== 4) throw formatError(file, 8, `images must be [N, H, W] or 4-D, found (${shape.join(', ')})`);
  const [count] = shape as [number];
  const [channels, height, width] = shape.length === 3 ? [1, shape[1]!, shape[2]!] : layout === 'NCHW' ? shape.slice(1) : [shape[3]!, shape[1]!, shape[2]!];
  if (count === 0 || channels! * height! * width! === 0) throw new TrtnError('ERR_DATA', `${file} holds no items (shape (${shape.join(', ')}))`, { file });
  let data: Uint8Array | Float32Array;
  if (kind === 'u1') data = array.data;
  else {
    // Float32Array views need 4-byte alignment; copy when the header leaves the data unaligned.
    const aligned = array.data.byteOffset % 4 === 0 ? array.data : array.data.slice();
    data = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  }
  let labels: Int32Array | undefined;
  if (options.labels !== undefined) {
    if (!is.string(options.labels)) throw invalid('npy labels', 'a file path', options.labels);
    labels = npyLabels(parseNpy(await readDataFile(options.labels), options.labels), options.labels);
    if (labels.length !== count) {
      throw new TrtnError('ERR_DATA', `${options.labels} has ${labels.length} labels but ${file} has ${count} items`, { file: options.labels, images: count, labels: labels.length });
    }
  }
  const size = channels! * height! * width!;
  return new ItemDataset({
    name: `npy:${file}`,
    store: {
      format: { channels: channels!, height: height!, width: width!, layout: shape.length === 4 && layout === 'NHWC' ? 'HWC' : 'CHW', dtype: kind === 'u1' ? 'uint8' : 'float32' },
      length: count,
      get: (i) => data.subarray(i * size, (i + 1) * size),
      getRun: (start, n) => data.subarray(start * size, (start + n) * size),
    },
    transforms: options.transforms ?? [],
    labels,
  });
}
