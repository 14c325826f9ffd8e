import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Progress } from '../engine/types.js';
import { TrtnError } from '../errors.js';

/** A one-line progress writer on stderr when it is a TTY and output is not JSON; otherwise undefined. */
export function stderrProgress(quiet: boolean | undefined): ((p: Progress) => void) | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  return (p) => {
    process.stderr.write(`\r${p.phase}: ${p.step}${p.steps ? `/${p.steps}` : ''}   `);
    if (p.steps && p.step >= p.steps) process.stderr.write('\n');
  };
}

export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n <= 0) throw new TrtnError('ERR_INVALID_ARG', `${name} must be a positive integer, got '${value}'`);
    return n;
  };
}

/** 'fashion-mnist:test' -> 'fashion-mnist:train': calibration reads the train split of the evaluation data. */
export function trainSpecOf(spec: string): string | undefined {
  if (/:test$/.test(spec)) return spec.replace(/:test$/, ':train');
  if (spec === 'fashion-mnist') return 'fashion-mnist:train';
  return undefined;
}

/** `name` must be one of `allowed`: the same one-line ERR_INVALID_ARG in every command. */
export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new TrtnError('ERR_INVALID_ARG', `${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got '${String(value)}'`);
}

/** An output file's folder must exist: a typo in -o should not create a tree of folders. Checked before any work. */
export function outputFile(option: string, file: string): string {
  const dir = dirname(resolve(file));
  if (!existsSync(dir)) throw new TrtnError('ERR_IO', `${option} ${file}: folder ${dir} does not exist (create it first)`, { file });
  if (!statSync(dir).isDirectory()) throw new TrtnError('ERR_IO', `${option} ${file}: ${dir} is not a folder`, { file });
  return file;
}
