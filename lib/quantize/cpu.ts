/**
 * What the CPU that builds an ONNX Runtime int8 model offers its kernels. With VNNI (AVX512-VNNI or AVX-VNNI), MLAS's
 * int8 GEMM and convolution kernels accumulate u8 x s8 products in 32 bits (vpdpbusd), so full 8-bit weights cannot
 * saturate and the 7-bit weights that older x86 CPUs need (QdqOptions.reduceRange) only cost accuracy. The engine an
 * onnxruntime build returns runs on the machine that built it, as a TensorRT engine does.
 */
import { readFileSync } from 'node:fs';

/** Whether a /proc/cpuinfo text lists a VNNI extension in its flags. */
export function cpuinfoHasVnni(cpuinfo: string): boolean {
  return cpuinfo.split('\n').some((line) => /^flags\s*:/.test(line) && /\s(avx512_vnni|avx_vnni)(\s|$)/.test(line));
}

let cached: boolean | undefined;

/** Whether this CPU has VNNI (read from /proc/cpuinfo; false where that cannot be read, which keeps 7-bit weights). */
export function cpuHasVnni(): boolean {
  if (cached === undefined) {
    try {
      cached = process.arch === 'x64' && cpuinfoHasVnni(readFileSync('/proc/cpuinfo', 'utf8'));
    } catch {
      cached = false;
    }
  }
  return cached;
}
