/**
 * TensorRT's calibration cache text format:
 *
 *   TRT-8601-EntropyCalibration2
 *   input: 3c010204
 *   /f/f.0/Conv_output_0: 3d0a3d71
 *
 * The first line names the TensorRT version and calibrator; each further line is `tensor: <hex>` where <hex> is the
 * float32 scale's bits as 8 big-endian hex digits and scale = amax / 127. TensorRT 8.6 and 10.x read such a file in
 * their implicit-quantization path; files they write read back here.
 */
import { TrtnError } from '../errors.js';
import type { CalibAlgorithm } from '../engine/options.js';

/** Header version written by default (TensorRT 8.6.1). */
export const DEFAULT_CACHE_VERSION = '8601';

const CALIBRATOR_NAMES: Record<Exclude<CalibAlgorithm, 'legacy-entropy'>, string> = {
  entropy: 'EntropyCalibration2',
  minmax: 'MinMaxCalibration',
  percentile: 'EntropyCalibration2', // TensorRT has no percentile calibrator; its scales load through any implicit calibrator
};

export interface CalibrationCache {
  /** Version field of the header, e.g. '8601' or '100100'. */
  version: string;
  /** Calibrator name of the header, e.g. 'EntropyCalibration2'. */
  calibrator: string;
  /** Scale (amax / 127) per tensor, in file order. */
  scales: Map<string, number>;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToHex(value: number): string {
  f32[0] = value;
  return u32[0]!.toString(16).padStart(8, '0');
}

export function hexToFloat(hex: string): number {
  u32[0] = parseInt(hex, 16);
  return f32[0]!;
}

export function calibratorName(algorithm: CalibAlgorithm): string {
  return algorithm === 'legacy-entropy' ? 'EntropyCalibration' : CALIBRATOR_NAMES[algorithm];
}

/** The cache text for `scales` (tensor -> scale). */
export function writeCalibrationCache(scales: Map<string, number> | Record<string, number>, options: { version?: string; calibrator?: string } = {}): string {
  const version = options.version ?? DEFAULT_CACHE_VERSION;
  const calibrator = options.calibrator ?? 'EntropyCalibration2';
  if (!/^\d+$/.test(version)) throw new TrtnError('ERR_INVALID_ARG', `cache version must be digits such as '8601', got ${JSON.stringify(version)}`);
  if (!/^\w+$/.test(calibrator)) throw new TrtnError('ERR_INVALID_ARG', `calibrator name must be a word such as 'EntropyCalibration2', got ${JSON.stringify(calibrator)}`);
  const lines = [`TRT-${version}-${calibrator}`];
  const entries = scales instanceof Map ? [...scales] : Object.entries(scales);
  for (const [name, scale] of entries) {
    if (name.includes('\n') || name.length === 0) throw new TrtnError('ERR_CALIB_CACHE', `tensor name ${JSON.stringify(name)} cannot be written to a calibration cache`, { tensor: name });
    if (!(Number.isFinite(scale) && scale >= 0)) throw new TrtnError('ERR_CALIB_CACHE', `scale of tensor '${name}' is ${scale}; a cache needs finite non-negative scales`, { tensor: name });
    lines.push(`${name}: ${floatToHex(scale)}`);
  }
  return lines.join('\n') + '\n';
}

/** Parse cache text or bytes; a malformed line is ERR_CALIB_CACHE naming the line (1-based) and its text. */
export function readCalibrationCache(source: string | Uint8Array, file = '<cache>'): CalibrationCache {
  const text = typeof source === 'string' ? source : new TextDecoder('utf-8', { fatal: false }).decode(source);
  const lines = text.split(/\r?\n/);
  const fail = (lineNo: number, why: string): TrtnError =>
    new TrtnError('ERR_CALIB_CACHE', `${file} line ${lineNo}: ${why}: ${JSON.stringify((lines[lineNo - 1] ?? '').slice(0, 120))}`, { file, line: lineNo });
  const header = /^TRT-(\d+)-(\w+)$/.exec(lines[0]?.trim() ?? '');
  if (!header) throw fail(1, "expected a header such as 'TRT-8601-EntropyCalibration2'");
  const scales = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    // Tensor names may contain ':' (e.g. 'x:0'); the hex field follows the last ': '.
    const m = /^(.+): ?([0-9a-fA-F]{1,8})\s*$/.exec(line);
    if (!m) throw fail(i + 1, "expected 'tensor_name: <8 hex digits>'");
    const scale = hexToFloat(m[2]!);
    if (!(Number.isFinite(scale) && scale >= 0)) throw fail(i + 1, `scale ${scale} is not a finite non-negative float`);
    if (scales.has(m[1]!)) throw fail(i + 1, `tensor '${m[1]}' appears twice`);
    scales.set(m[1]!, scale);
  }
  return { version: header[1]!, calibrator: header[2]!, scales };
}
