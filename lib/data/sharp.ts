/**
 * sharp is loaded on first use, not at import: its native library (libvips, from a per-platform package) can be
 * missing where the package was copied between machines, and only image decoding needs it.
 */
import type SharpType from 'sharp';
import { TrtnError } from '../errors.js';

export type Sharp = typeof SharpType;

let loading: Promise<Sharp> | undefined;

const FIX = "npm install sharp (it fetches sharp's platform package, @img/sharp-<os>-<arch>, from the registry)";

/** sharp, or ERR_UNSUPPORTED naming what failed and the fix (cached: one attempt per process). */
export function loadSharp(): Promise<Sharp> {
  loading ??= import('sharp').then(
    (m) => ((m as { default?: Sharp }).default ?? (m as unknown as Sharp)),
    (err: unknown) => {
      const first = ((err as Error)?.message ?? String(err)).split('\n')[0];
      throw new TrtnError('ERR_UNSUPPORTED', `sharp (image decoding) could not be loaded: ${first}; fix: ${FIX}`, { fix: FIX }, { cause: err });
    },
  );
  return loading;
}

/** For `trt-node doctor`: sharp's version and libvips', or why it does not load. */
export async function sharpStatus(): Promise<{ loaded: boolean; version: string | null; error?: string }> {
  try {
    const sharp = await loadSharp();
    return { loaded: true, version: `${sharp.versions.sharp ?? '?'} (libvips ${sharp.versions.vips})` };
  } catch (err) {
    return { loaded: false, version: null, error: (err as Error).message };
  }
}
