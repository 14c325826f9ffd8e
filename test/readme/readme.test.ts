/**
 * Every ```ts / ```js block of README.md type-checks against the built package and runs as written, from a scratch
 * folder where the package is importable as 'tensorrt-node' (a link to this checkout, or, with
 * TRTN_README_APP=<dir>, an app that installed the packed tarball: .ci/run does that). A block preceded by
 * `<!-- readme-test: typecheck-only (<reason>) -->` is only type-checked (it needs a GPU, or serves forever).
 * The scratch folder holds the trained fixture models under the names the README uses.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const models = join(root, 'test', 'fixtures', 'models');

interface Block { index: number; line: number; lang: 'ts' | 'js'; code: string; typecheckOnly?: string }

export function readmeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript|js|javascript)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const marker = k >= 0 ? /<!--\s*readme-test:\s*typecheck-only\s*\(([^)]*)\)\s*-->/.exec(lines[k]!) : null;
    blocks.push({ index: blocks.length, line: i + 1, lang: open[1]!.startsWith('t') ? 'ts' : 'js', code: lines.slice(i + 1, end).join('\n'), ...(marker ? { typecheckOnly: marker[1] } : {}) });
    i = end;
  }
  return blocks;
}

const blocks = readmeBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
let scratch: string;

function fileOf(b: Block, ext: 'src' | 'run'): string {
  return join(scratch, `readme-${b.index + 1}-line${b.line}.${ext === 'run' || b.lang === 'js' ? 'mjs' : 'mts'}`);
}

beforeAll(() => {
  scratch = process.env.TRTN_README_APP ?? mkdtempSync(join(tmpdir(), 'trtn-readme-'));
  if (!process.env.TRTN_README_APP) {
    mkdirSync(join(scratch, 'node_modules'));
    symlinkSync(root, join(scratch, 'node_modules', 'tensorrt-node'), 'dir');
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'readme-app', private: true, type: 'module' }));
  }
  for (const f of readdirSync(models).filter((n) => n.endsWith('.onnx'))) copyFileSync(join(models, f), join(scratch, f));
  for (const b of blocks) writeFileSync(fileOf(b, 'src'), b.code);
});

describe('README.md code blocks', () => {
  it('has blocks, and says the package is ESM-only', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toMatch(/ESM-only/);
  });

  it('every block type-checks against the built package', () => {
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
      strict: true, noEmit: true, skipLibCheck: true, allowJs: true, checkJs: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
    };
    // TypeScript blocks strictly; JavaScript blocks as a JS user's editor checks them (checkJs, not strict).
    const diagnostics = (['ts', 'js'] as const).flatMap((lang) => {
      const files = blocks.filter((b) => b.lang === lang).map((b) => fileOf(b, 'src'));
      return files.length ? ts.getPreEmitDiagnostics(ts.createProgram(files, { ...options, strict: lang === 'ts' })) : [];
    });
    const problems = diagnostics.filter((d) => d.file?.fileName.startsWith(scratch)).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return `${d.file?.fileName.split('/').pop()}:${where ? where.line + 1 : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });

  for (const b of blocks) {
    it.skipIf(b.typecheckOnly !== undefined)(`block ${b.index + 1} (README.md line ${b.line}) runs as written${b.typecheckOnly ? ` [type-check only: ${b.typecheckOnly}]` : ''}`, () => {
      const js = b.lang === 'ts' ? ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText : b.code;
      const file = fileOf(b, 'run').replace(/\.mjs$/, '.run.mjs');
      writeFileSync(file, js);
      const r = spawnSync(process.execPath, [file], { cwd: scratch, encoding: 'utf8', timeout: 300_000 });
      expect(r.stderr.split('\n').filter((l) => /Error|error:/.test(l)), `stderr of ${file}`).toEqual([]);
      expect(r.status, r.stderr).toBe(0);
    }, 320_000);
  }
});
