/** File reading with the typed errors every loader shares: a missing file is ERR_IO naming the path. */
import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { TrtnError } from '../errors.js';
import type { Logger } from '../engine/types.js';

const gunzipAsync = promisify(gunzip);

export function ioError(path: string, err: unknown, action = 'read', details: Record<string, unknown> = {}): TrtnError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory' : code ?? (err as Error)?.message ?? String(err);
  return new TrtnError('ERR_IO', `Cannot ${action} ${path}: ${reason}`, { file: path, ...details }, { cause: err });
}

export async function readDataFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw ioError(path, err);
  }
}

/** Read a file, gunzipping it when it starts with the gzip magic (1f 8b). */
export async function readMaybeGzip(path: string): Promise<Buffer> {
  const bytes = await readDataFile(path);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (err) {
    throw new TrtnError('ERR_DATA_FORMAT', `${path}: corrupt gzip stream (${(err as Error).message}); compressed size ${bytes.length} bytes`, {
      file: path,
      offset: bytes.length,
    }, { cause: err });
  }
}

export function formatError(file: string, offset: number, message: string, details: Record<string, unknown> = {}): TrtnError {
  return new TrtnError('ERR_DATA_FORMAT', `${file}: ${message} (at byte offset ${offset})`, { file, offset, ...details });
}

/** Where loaders report a skipped item: an explicit callback, a logger, or a process warning. */
export interface WarningOptions {
  onWarning?: (message: string, details: { file?: string }) => void;
  logger?: Logger;
}

export function warn(options: WarningOptions, message: string, details: { file?: string } = {}): void {
  if (options.onWarning) options.onWarning(message, details);
  else if (options.logger) options.logger('warning', message);
  else process.emitWarning(message, { code: 'TRTN_DATA_SKIPPED' });
}
