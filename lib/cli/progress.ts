import type { Progress } from '../engine/types.js';

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
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${value}'`);
    return n;
  };
}

/** 'fashion-mnist:test' -> 'fashion-mnist:train': calibration reads the train split of the evaluation data. */
export function trainSpecOf(spec: string): string | undefined {
  if (/:test$/.test(spec)) return spec.replace(/:test$/, ':train');
  if (spec === 'fashion-mnist') return 'fashion-mnist:train';
  return undefined;
}
