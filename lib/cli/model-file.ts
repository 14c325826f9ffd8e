import { readFile } from 'node:fs/promises';
import { listBackends } from '../engine/backend.js';
import { TrtnError } from '../errors.js';
import { parseModel } from '../onnx/io.js';

/**
 * Every command checks its model argument the same way before any work, so one problem reads the same in each:
 * a file that cannot be read is ERR_IO naming it; bytes no backend recognises are parsed as ONNX, whose error
 * (ERR_ONNX_LOAD, 'truncated' when a field runs past the end) names the file.
 */
export async function checkModelFile(file: string): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code ?? (err as Error).message})`;
    throw new TrtnError('ERR_IO', `model file ${file} ${what}`, { file });
  }
  if (listBackends().some((b) => b.recognises(bytes))) return;
  parseModel(bytes, file);
  // Decodes as ONNX yet no backend takes it (e.g. a graph without nodes): say so rather than guess.
  throw new TrtnError('ERR_ONNX_MODEL', `${file}: an ONNX model no backend can run (a graph without nodes?)`, { file });
}
