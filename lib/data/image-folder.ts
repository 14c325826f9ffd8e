/**
 * A folder with one sub-folder per class (the cats_vs_dogs layout). JPEGs are decoded and resized by the addon's
 * libjpeg-turbo decoder where it is compiled in (jpegDecode 'fast'), everything else by sharp.
 */
import { readFile } from 'node:fs';
import { availableParallelism } from 'node:os';
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { TrtnError } from '../errors.js';
import { invalid, is } from '../engine/options.js';
import { ItemDataset, type RawItem } from './dataset.js';
import { ioError, warn, type WarningOptions } from './files.js';
import { nativeJpegDecoder } from '../native/jpeg.js';
import { axisFilter, jpegInfo, planJpegShrink, planNativeJpeg, resizeTriangleHwc } from './jpeg-shrink.js';
import { transforms as t, type TransformStep } from './transforms.js';
import { loadSharp } from './sharp.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;
const JPEG_NAME = /\.jpe?g$/i;
/** Input side the study used for cats_vs_dogs (128x128x3). */
export const STUDY_CATS_VS_DOGS_SIZE = 128;

export interface ImageFolderOptions extends WarningOptions {
  /** Output height and width: one number for a square, or [height, width]. */
  size: number | readonly [number, number];
  channels?: 1 | 3;
  /** How sharp fits the image into size: 'fill' stretches (default, like Keras), 'cover' crops, 'contain' letterboxes. */
  fit?: 'fill' | 'cover' | 'contain';
  /**
   * sharp resize kernel; default 'linear': bilinear as PIL and torchvision's antialias=True mean it, a triangle
   * filter widened by the reduction (not OpenCV's 2x2 interpolation, which aliases when shrinking).
   */
  kernel?: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
  /**
   * JPEG decoding with fit 'fill' and kernel 'linear' (other fits and kernels always use sharp). 'fast' (default):
   * libjpeg-turbo in the addon decodes at the smallest DCT scale (1/8, 1/4, 1/2) still at least `size`, and the
   * triangle filter sharp's 'linear' uses resizes the rest, on the libuv pool: several times less CPU per image
   * than sharp, whose fixed cost per call is larger than a small decode. Files with an ICC profile, one channel,
   * and files libjpeg warns about or rejects go to sharp. Without libjpeg in the addon, 2x-3x reductions (which
   * sharp decodes in full) go through sharp at 1/2 scale. Reducing, pixels are about 1 level of 255 from 'sharp'
   * on average (bench/data-throughput.mjs measures it); enlarging, 'fast' is half-pixel bilinear interpolation
   * (PIL's, PyTorch's), from which sharp's differs by ~2.7 levels. 'sharp': sharp decodes and resizes every image.
   */
  jpegDecode?: 'fast' | 'sharp';
  /** A corrupt or non-image file: 'error' (default) throws ERR_DATA_FORMAT naming it; 'skip' warns and goes on. */
  onCorrupt?: 'skip' | 'error';
  /**
   * Files read and decoded at once, on the libuv pool: default 16 with the addon's JPEG decoder (short tasks: enough
   * queued reads and decodes keep the pool's threads busy), else max(4, 2 x cores) (more sharp pipelines were slower).
   */
  concurrency?: number;
  /** Steps after decoding; default rescale to [0, 1]. */
  transforms?: readonly TransformStep[];
}

async function listDir(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw ioError(dir, err, 'list');
  }
}

/** Loads in flight by default (bench/data-throughput.mjs sweeps 2 to 32 on a 2-core machine). */
export function defaultConcurrency(nativeJpeg: boolean): number {
  return nativeJpeg ? 16 : Math.max(4, 2 * availableParallelism());
}

export async function imageFolder(dir: string, options: ImageFolderOptions): Promise<ItemDataset> {
  if (!is.string(dir)) throw invalid('imageFolder dir', 'a directory path', dir);
  if (!is.object(options as unknown)) throw invalid('imageFolder options', 'an object with size', options);
  const [height, width] = typeof options.size === 'number' ? [options.size, options.size] : Array.isArray(options.size) ? options.size : [NaN, NaN];
  if (!is.posInt(height) || !is.posInt(width)) throw invalid('imageFolder size', 'a positive integer or [height, width]', JSON.stringify(options.size));
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw invalid('imageFolder channels', '1 or 3', channels);
  const fit = options.fit ?? 'fill';
  if (!is.oneOf(fit, ['fill', 'cover', 'contain'] as const)) throw invalid('imageFolder fit', "'fill', 'cover' or 'contain'", fit);
  const kernel = options.kernel ?? 'linear';
  if (!is.oneOf(kernel, ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const)) throw invalid('imageFolder kernel', 'a sharp kernel name', kernel);
  const onCorrupt = options.onCorrupt ?? 'error';
  if (!is.oneOf(onCorrupt, ['skip', 'error'] as const)) throw invalid('imageFolder onCorrupt', "'skip' or 'error'", onCorrupt);
  const jpegDecode = options.jpegDecode ?? 'fast';
  if (!is.oneOf(jpegDecode, ['fast', 'sharp'] as const)) throw invalid('imageFolder jpegDecode', "'fast' or 'sharp'", jpegDecode);
  const fastJpeg = jpegDecode === 'fast' && fit === 'fill' && kernel === 'linear';
  const decodeJpeg = fastJpeg && channels === 3 ? nativeJpegDecoder() : null;
  const concurrency = options.concurrency ?? defaultConcurrency(decodeJpeg !== null);
  if (!is.posInt(concurrency)) throw invalid('imageFolder concurrency', 'a positive integer', concurrency);

  const entries = await listDir(dir);
  const classes = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  const files: string[] = [];
  const labelList: number[] = [];
  for (const [label, name] of classes.entries()) {
    const inClass = (await listDir(join(dir, name))).filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isSymbolicLink())).map((e) => e.name).sort();
    for (const file of inClass) {
      const path = join(dir, name, file);
      if (!(IMAGE_EXTENSIONS as readonly string[]).includes(extname(file).toLowerCase())) {
        const message = `${path}: not an image (extension '${extname(file)}'; expected ${IMAGE_EXTENSIONS.join(', ')})`;
        if (onCorrupt === 'error') throw new TrtnError('ERR_DATA_FORMAT', message, { file: path });
        warn(options, `skipped ${message}`, { file: path });
        continue;
      }
      files.push(path);
      labelList.push(label);
    }
  }
  if (files.length === 0) {
    throw new TrtnError('ERR_DATA', `${dir}: no images found (expected one sub-folder per class holding ${IMAGE_EXTENSIONS.join(', ')} files; found ${classes.length} sub-folders)`, { file: dir });
  }

  const load = async (index: number): Promise<RawItem | null> => {
    const file = files[index]!;
    // A JPEG on the fast path is read here (its header picks the decode); sharp reads anything else itself, in its
    // own pool task. The callback API costs less per file than fs/promises (fewer thread-pool round trips).
    const bytes = fastJpeg && JPEG_NAME.test(file)
      ? await new Promise<Buffer>((resolve, reject) => readFile(file, (err, data) => (err ? reject(ioError(file, err, 'read', { entry: index })) : resolve(data))))
      : null;
    const jpeg = bytes ? jpegInfo(bytes) : null;
    if (bytes && jpeg && decodeJpeg && !jpeg.iccProfile) {
      const plan = planNativeJpeg(jpeg.width, jpeg.height, width, height);
      const resize = plan.width === width && plan.height === height ? undefined : { x: axisFilter(plan.width, width), y: axisFilter(plan.height, height) };
      // Anything libjpeg rejects or warns about goes on to sharp below, which reports it as it always has.
      const out = await decodeJpeg(bytes, plan.scaleDenom, resize).catch(() => null);
      if (out && out.warning === undefined && out.width === width && out.height === height) return out.data;
    }
    const shrunk = jpeg ? planJpegShrink(jpeg.width, jpeg.height, width, height) : null;
    const [w, h] = shrunk ? [shrunk.width, shrunk.height] : [width, height];
    let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
    const sharp = await loadSharp();
    try {
      decoded = await sharp(bytes ?? file, { failOn: 'error', sequentialRead: true })
        .resize(w, h, { fit, kernel })
        .removeAlpha()
        .toColourspace(channels === 1 ? 'b-w' : 'srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      if (/Input file is missing|ENOENT/i.test(message)) throw new TrtnError('ERR_IO', `Cannot read ${file}: no such file`, { file, entry: index }, { cause: err });
      const described = `${file}: cannot decode image (${message.trim()})`;
      if (onCorrupt === 'error') throw new TrtnError('ERR_DATA_FORMAT', described, { file, entry: index }, { cause: err });
      warn(options, `skipped ${described}`, { file });
      return null;
    }
    const { info } = decoded;
    if (info.channels !== channels || info.width !== w || info.height !== h) {
      throw new TrtnError('ERR_DATA_FORMAT', `${file}: decoded to ${info.width}x${info.height}x${info.channels}, expected ${w}x${h}x${channels}`, { file, entry: index });
    }
    const pixels = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
    return shrunk ? resizeTriangleHwc(pixels, w, h, channels, width, height) : pixels;
  };

  return new ItemDataset({
    name: `images:${dir}`,
    store: { format: { channels, height, width, layout: 'HWC', dtype: 'uint8' }, length: files.length, load, concurrency },
    transforms: options.transforms ?? [t.rescale(1 / 255)],
    labels: Int32Array.from(labelList),
    classes,
  });
}
