/** The TypeScript half of native/image: libjpeg-turbo decoding at a DCT scale, with an optional separable resize. */
import type { AxisFilter } from '../data/jpeg-shrink.js';
import { tryNativeAddon } from './addon.js';

export interface DecodedJpeg {
  /** RGB bytes, row after row. */
  data: Uint8Array;
  width: number;
  height: number;
  /** The first warning libjpeg gave (corrupt or truncated data it decoded anyway). */
  warning?: string;
}

export type DecodeJpeg = (bytes: Uint8Array, scaleDenom: 1 | 2 | 4 | 8, resize?: { x: AxisFilter; y: AxisFilter }) => Promise<DecodedJpeg>;

let decoder: DecodeJpeg | null | undefined;

/** The addon's decoder, or null where the addon is not built or was built without libjpeg. */
export function nativeJpegDecoder(): DecodeJpeg | null {
  if (decoder === undefined) {
    const fn = tryNativeAddon().addon?.decodeJpeg;
    decoder = typeof fn === 'function' ? (fn as DecodeJpeg) : null;
  }
  return decoder;
}

/** The libjpeg the addon was built with ('libjpeg-turbo 2.1.5'), or null. */
export function nativeJpegVersion(): string | null {
  return tryNativeAddon().addon?.buildInfo().jpeg ?? null;
}
