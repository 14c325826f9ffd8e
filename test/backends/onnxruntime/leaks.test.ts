/**
 * Failed builds release what they opened (the ONNX Runtime worker thread and its session), and neither a failed
 * build nor a forgotten engine keeps a script's process alive.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../../lib/backends/index.js';
import { buildEngine } from '../../../lib/engine/api.js';
import { isTrtnError } from '../../../lib/errors.js';
import { makeNode } from '../../../lib/onnx/graph.js';
import { serializeModel } from '../../../lib/onnx/io.js';
import { DataType, type OnnxModel, type OnnxNode, type OnnxValueInfo } from '../../../lib/onnx/model.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const tensor = (name: string, elemType: number): OnnxValueInfo => ({ name, type: { tensorType: { elemType, shape: [2] } } });

function model(nodes: OnnxNode[], inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): Uint8Array {
  const m: OnnxModel = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'leak', nodes, initializers: [], inputs, outputs, valueInfo: [] } };
  return serializeModel(m);
}

/** ONNX Runtime refuses it when the session is created (no such op): the worker has started by then. */
const rejectedByOrt = model([makeNode('NoSuchOp', ['x'], ['y'])], [tensor('x', DataType.FLOAT)], [tensor('y', DataType.FLOAT)]);
/** An output the engine API cannot carry (a sequence): refused before a session starts. */
const sequenceOut = model(
  [makeNode('SequenceConstruct', ['x'], ['s'])],
  [tensor('x', DataType.FLOAT)],
  [{ name: 's', type: { sequenceType: { elemType: { tensorType: { elemType: DataType.FLOAT } } } } }],
);
/** A bfloat16 input: no engine dtype carries it. */
const bfloat16In = model([makeNode('Identity', ['x'], ['y'])], [tensor('x', DataType.BFLOAT16)], [tensor('y', DataType.BFLOAT16)]);

const threads = () => readdirSync('/proc/self/task').length;

async function failedBuild(bytes: Uint8Array, precision: 'fp32' | 'fp16'): Promise<string> {
  try {
    const e = await buildEngine(bytes, { precision, backend: 'onnxruntime' });
    e.dispose();
    return 'built';
  } catch (err) {
    expect(isTrtnError(err)).toBe(true);
    return (err as { code: string }).code;
  }
}

/** Run a TypeScript script (importing lib/) in a child process; null status when it did not exit by the deadline. */
function runScript(body: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'trtn-leak-'));
  const file = join(dir, 'script.ts');
  writeFileSync(file, `import { buildEngine } from ${JSON.stringify(join(ROOT, 'lib/engine/api.js'))};\nimport ${JSON.stringify(join(ROOT, 'lib/backends/index.js'))};\n${body}\n`);
  // A process pinned by a leaked worker never exits: the deadline only tells "exits" from "never exits".
  const run = spawnSync(join(ROOT, 'node_modules/.bin/vite-node'), [file], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('onnxruntime backend: what a failed or forgotten engine leaves behind', () => {
  it('20 failed builds add no threads', async () => {
    // One of each first, so that lazily started threads (libuv's pool, ONNX Runtime's own) exist before counting.
    for (const [bytes, precision] of [[rejectedByOrt, 'fp32'], [sequenceOut, 'fp32'], [bfloat16In, 'fp32'], [rejectedByOrt, 'fp16']] as const)
      await failedBuild(bytes, precision);
    const before = threads();
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      codes.push(await failedBuild(rejectedByOrt, 'fp32'));
      codes.push(await failedBuild(rejectedByOrt, 'fp16'));
      codes.push(await failedBuild(sequenceOut, 'fp32'));
      codes.push(await failedBuild(bfloat16In, 'fp32'));
    }
    expect(threads()).toBe(before);
    expect(new Set(codes)).toEqual(new Set(['ERR_ONNX_PARSE', 'ERR_ONNX_MODEL']));
  });

  it('a script whose only build failed exits', () => {
    const bytes = JSON.stringify(Array.from(rejectedByOrt));
    const run = runScript(`try { await buildEngine(Uint8Array.from(${bytes}), { precision: 'fp32', backend: 'onnxruntime' }); } catch (e) { console.log(e.code); }`);
    expect(run.stdout.trim()).toBe('ERR_ONNX_PARSE');
    expect(run.status).toBe(0);
  });

  it('a script that never disposes its engine exits', () => {
    const run = runScript(
      `const e = await buildEngine(${JSON.stringify(join(ROOT, 'test/fixtures/models/fmnist_cnn.onnx'))}, { precision: 'fp32', backend: 'onnxruntime' });
       const out = await e.infer({ input: { data: new Float32Array(784), dims: [1, 1, 28, 28], dtype: 'float32' } });
       console.log(out.logits.dims.join('x'));`,
    );
    expect(run.stdout.trim()).toBe('1x10');
    expect(run.status).toBe(0);
  });
});
