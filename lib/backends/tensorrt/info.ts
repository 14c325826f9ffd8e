/** Facts for `doctor`: the TensorRT version compiled in and the library version actually loaded. */
import { tensorRtAddon } from './backend.js';
import type { TrtRuntimeInfo } from './native.js';

export function trtRuntimeInfo(): (TrtRuntimeInfo & { available: true }) | { available: false; reason: string; fix?: string } {
  const { addon, reason, fix } = tensorRtAddon();
  if (!addon) return { available: false, reason: reason ?? 'unknown', fix };
  return { available: true, ...addon.trtRuntimeInfo() };
}
