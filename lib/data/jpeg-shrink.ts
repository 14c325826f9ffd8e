/**
 * Faster JPEG decoding for imageFolder (jpegDecode 'fast'): plans and filters; the addon's decoder (native/image)
 * and sharp do the decoding.
 *
 * libjpeg decodes at 1/2, 1/4 or 1/8 scale in the DCT domain, far cheaper than a full decode. With the addon's
 * decoder, planNativeJpeg picks the smallest such scale that still covers the output and the triangle filters
 * built here (axisFilter) resize the rest on the decoder's thread. Without it, sharp does the work: sharp uses DCT
 * scaling only when the whole reduction is at least 3x (it keeps 1.5x or more for its own resize), so 500x375 ->
 * 128x128 (2.93x) is decoded in full; planJpegShrink asks sharp for an intermediate size of at most a third of the
 * image, so that it decodes at 1/2 scale, and resizeTriangleHwc does the last step (at most 1.5x, usually on one
 * axis) with the same filter sharp's 'linear' kernel uses.
 */

export interface JpegInfo {
  width: number;
  height: number;
  /** An embedded ICC profile (APP2 ICC_PROFILE) before the frame header: sharp converts such images to sRGB. */
  iccProfile: boolean;
}

const ICC_TAG = [0x49, 0x43, 0x43, 0x5f, 0x50, 0x52, 0x4f, 0x46, 0x49, 0x4c, 0x45, 0x00]; // "ICC_PROFILE\0"

/** Width and height from a JPEG's start-of-frame segment, or null when the bytes are not a JPEG with one. */
export function jpegInfo(bytes: Uint8Array): JpegInfo | null {
  let iccProfile = false;
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image, or scan data before any frame header
    const length = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    // SOF0-SOF15 except DHT (c4), JPG (c8) and DAC (cc): precision, height, width follow the length.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (p + 9 > bytes.length) return null;
      const height = (bytes[p + 5]! << 8) | bytes[p + 6]!;
      const width = (bytes[p + 7]! << 8) | bytes[p + 8]!;
      return width > 0 && height > 0 ? { width, height, iccProfile } : null;
    }
    if (length < 2) return null;
    if (marker === 0xe2 && p + 4 + ICC_TAG.length <= bytes.length && ICC_TAG.every((b, i) => bytes[p + 4 + i] === b)) iccProfile = true;
    p += 2 + length;
  }
  return null;
}

/**
 * The DCT scale sharp 0.35 picks (pipeline.cc, fastShrinkOnLoad) for a reduction of `shrink`, the smaller of
 * width/targetWidth and height/targetHeight: 2 from 3x, 4 from 5x, 8 from 9x; at 2x, 4x and 8x it takes the
 * next smaller scale ("known libjpeg rounding errors").
 */
export function sharpJpegScale(shrink: number): 1 | 2 | 4 | 8 {
  let scale: 1 | 2 | 4 | 8 = shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
  if (scale > 1 && Math.trunc(shrink) === scale) scale = (scale / 2) as 2 | 4;
  return scale;
}

/**
 * The size to ask sharp for so that it decodes a `width` x `height` JPEG at 1/2 scale on its way to `outWidth` x
 * `outHeight` (fit 'fill'), or null where that gains nothing: below a 2x reduction no DCT scale covers the output,
 * and from 3x up sharp scales by itself.
 */
export function planJpegShrink(width: number, height: number, outWidth: number, outHeight: number): { width: number; height: number } | null {
  const shrink = Math.min(width / outWidth, height / outHeight);
  if (!(shrink >= 2) || sharpJpegScale(shrink) !== 1) return null;
  const w = Math.min(outWidth, Math.floor(width / 3));
  const h = Math.min(outHeight, Math.floor(height / 3));
  if (w < 1 || h < 1 || sharpJpegScale(Math.min(width / w, height / h)) !== 2) return null;
  return { width: w, height: h };
}

/**
 * The DCT scale for libjpeg to decode a `width` x `height` JPEG at, on its way to `outWidth` x `outHeight`: the
 * smallest (1/8, 1/4, 1/2, else 1/1) whose output, ceil(width / scale) x ceil(height / scale), still covers it.
 */
export function planNativeJpeg(width: number, height: number, outWidth: number, outHeight: number): { scaleDenom: 1 | 2 | 4 | 8; width: number; height: number } {
  for (const scaleDenom of [8, 4, 2] as const) {
    const w = Math.ceil(width / scaleDenom);
    const h = Math.ceil(height / scaleDenom);
    if (w >= outWidth && h >= outHeight) return { scaleDenom, width: w, height: h };
  }
  return { scaleDenom: 1, width, height };
}

/** A separable resize filter for one axis (plain typed arrays: the addon's JPEG decoder applies it too). */
export interface AxisFilter {
  inSize: number;
  /** First input index for each output index. */
  start: Int32Array;
  /** Taps per output index (the same stride for all: unused taps have weight 0). */
  taps: number;
  weights: Float32Array;
}

/** Triangle filter over one axis, widened by the reduction factor (antialiased), input pixel centres at i + 0.5. */
function triangleFilter(inSize: number, outSize: number): AxisFilter {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const weights = new Float32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(inSize, Math.ceil(centre + support));
    start[o] = lo;
    let sum = 0;
    for (let i = lo; i < hi && i - lo < taps; i++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      weights[o * taps + i - lo] = w;
      sum += w;
    }
    for (let k = 0; k < taps; k++) weights[o * taps + k] /= sum;
  }
  return { inSize, start, taps, weights };
}

const filters = new Map<string, AxisFilter>();
/** The triangle filter from inSize to outSize, built once per pair. */
export function axisFilter(inSize: number, outSize: number): AxisFilter {
  const key = `${inSize}>${outSize}`;
  let f = filters.get(key);
  if (!f) {
    if (filters.size >= 256) filters.clear(); // a folder of many sizes must not grow this without bound
    f = triangleFilter(inSize, outSize);
    filters.set(key, f);
  }
  return f;
}

/**
 * Resize interleaved (HWC) bytes with the triangle filter, one axis at a time (vertical, then horizontal, in
 * float; as the addon's decoder does); an axis whose size does not change is left alone. Values are rounded to
 * the nearest byte.
 */
export function resizeTriangleHwc(src: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Uint8Array {
  if (src.length !== width * height * channels) throw new RangeError(`resizeTriangleHwc: ${src.length} bytes for ${width}x${height}x${channels}`);
  if (outWidth === width && outHeight === height) return src.slice();
  const rows = outHeight === height ? Float32Array.from(src) : vertical(src, width * channels, axisFilter(height, outHeight), outHeight);
  if (outWidth === width) {
    const out = new Uint8Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rows[i]! + 0.5; // + 0.5 then truncation: round half up (never negative)
    return out;
  }
  const f = axisFilter(width, outWidth);
  return channels === 3 ? horizontal3(rows, width, outHeight, f, outWidth) : horizontal(rows, width, outHeight, channels, f, outWidth);
}

// Kernels over one array type each: V8 keeps monomorphic loops fast.
function vertical(src: Uint8Array, row: number, f: AxisFilter, outHeight: number): Float32Array {
  const height = src.length / row;
  const out = new Float32Array(outHeight * row);
  const { start, taps, weights } = f;
  for (let y = 0; y < outHeight; y++) {
    const o = y * row;
    const used = Math.min(taps, height - start[y]!);
    for (let k = 0; k < used; k++) {
      const w = weights[y * taps + k]!;
      if (w === 0) continue;
      const r = (start[y]! + k) * row;
      for (let i = 0; i < row; i++) out[o + i] += w * src[r + i]!;
    }
  }
  return out;
}

function horizontal(src: Float32Array, width: number, height: number, channels: number, f: AxisFilter, outWidth: number): Uint8Array {
  const out = new Uint8Array(height * outWidth * channels);
  const { start, taps, weights } = f;
  for (let y = 0; y < height; y++) {
    const rowIn = y * width * channels;
    const rowOut = y * outWidth * channels;
    for (let x = 0; x < outWidth; x++) {
      const base = rowIn + start[x]! * channels;
      const wBase = x * taps;
      const used = Math.min(taps, width - start[x]!);
      for (let c = 0; c < channels; c++) {
        let s = 0.5;
        for (let k = 0; k < used; k++) s += weights[wBase + k]! * src[base + k * channels + c]!;
        out[rowOut + x * channels + c] = s;
      }
    }
  }
  return out;
}

/** RGB: the three sums of a pixel in one pass over its taps. */
function horizontal3(src: Float32Array, width: number, height: number, f: AxisFilter, outWidth: number): Uint8Array {
  const out = new Uint8Array(height * outWidth * 3);
  const { start, taps, weights } = f;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const rowIn = y * width * 3;
    for (let x = 0; x < outWidth; x++) {
      let i = rowIn + start[x]! * 3;
      const wBase = x * taps;
      const used = Math.min(taps, width - start[x]!);
      let r = 0.5;
      let g = 0.5;
      let b = 0.5;
      for (let k = 0; k < used; k++, i += 3) {
        const w = weights[wBase + k]!;
        r += w * src[i]!;
        g += w * src[i + 1]!;
        b += w * src[i + 2]!;
      }
      out[o++] = r;
      out[o++] = g;
      out[o++] = b;
    }
  }
  return out;
}
