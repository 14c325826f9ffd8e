import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI, run as a user runs it. */
export const cli = join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'cli', 'main.js');

export function trtNode(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string; lines: string[] } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, TRTN_DEBUG: '', ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.split('\n').filter((l) => l !== '') };
}
