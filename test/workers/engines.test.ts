/**
 * Engines in worker threads (onnxruntime backend): several workers at once each build their own engine and
 * infer on real Fashion-MNIST images, with results equal to the main thread's engine; a worker terminated in
 * the middle of an infer leaves the process and the main thread's engine working, and so does process.exit() or an
 * uncaught exception while an infer is in flight. Workers and child scripts run plain JS, so the library is compiled
 * once with tsc into build/test-dist.
 *
 * Why these can crash at all: onnxruntime-node 1.30 aborts the process (std::terminate out of
 * Napi::Error::ThrowAsJavaScriptException: its N-API calls after the computation fail with napi_pending_exception)
 * when the thread running InferenceSession.run() is stopped during the call, and Node stops a thread's worker threads
 * when that thread is terminated or exits. lib/backends/onnxruntime/session.ts explains the two hosts that avoid it.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { listBackends } from '../../lib/engine/backend.js';
import { buildEngine } from '../../lib/index.js';
import { TrtnError } from '../../lib/errors.js';

// Register the onnxruntime backend where this checkout has it (lib/index.ts may not import it yet).
const ortBackend = '../../lib/backends/onnxruntime/index.js';
await import(/* @vite-ignore */ ortBackend).catch(() => undefined);

const root = fileURLToPath(new URL('../..', import.meta.url));
const libDir = join(root, 'build', 'test-dist');
const hasOnnxRuntime = listBackends().some((b) => b.name === 'onnxruntime');

const model = join(root, 'test/fixtures/models/fmnist_cnn.onnx');
const feeds64 = () => ({ input: { data: new Float32Array(64 * 784).fill(0.5), dims: [64, 1, 28, 28], dtype: 'float32' as const } });

async function terminateWorkerWithEngine(midInfer: boolean): Promise<void> {
    const index = pathToFileURL(join(libDir, 'index.js')).href;
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import(${JSON.stringify(index)}).then(async ({ buildEngine }) => {
         const engine = await buildEngine(${JSON.stringify(model)}, { backend: 'onnxruntime', precision: 'fp32' });
         const feeds = { input: { data: new Float32Array(64 * 784).fill(0.5), dims: [64, 1, 28, 28], dtype: 'float32' } };
         await engine.infer(feeds);
         parentPort.postMessage('built');
         if (${midInfer}) for (;;) await engine.infer(feeds);
         setInterval(() => {}, 1000); // idle, but alive until terminated
       });`,
      { eval: true },
    );
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, 200)); // inside the infer loop, or idle
    expect(await worker.terminate()).toBe(1);
    const { buildEngine } = (await import(index)) as typeof import('../../lib/index.js');
    await using engine = await buildEngine(model, { backend: 'onnxruntime', precision: 'fp32' });
    const out = await engine.infer({ input: { data: new Float32Array(784), dims: [1, 1, 28, 28], dtype: 'float32' } });
    expect(out.logits!.dims).toEqual([1, 10]);
}

/**
 * A child node process that builds a main-thread engine (default host: a worker thread), keeps infers in flight and
 * ends with `ending` after `afterMs`. Its exit status and stderr.
 */
async function endDuringInfer(ending: string, afterMs: number): Promise<{ status: number | null; signal: string | null; stderr: string }> {
  const index = pathToFileURL(join(libDir, 'index.js')).href;
  const script = `const { buildEngine } = await import(${JSON.stringify(index)});
    const engine = await buildEngine(${JSON.stringify(model)}, { backend: 'onnxruntime', precision: 'fp32' });
    const feeds = { input: { data: new Float32Array(64 * 784).fill(0.5), dims: [64, 1, 28, 28], dtype: 'float32' } };
    await engine.infer(feeds);
    setTimeout(() => { ${ending} }, ${afterMs});
    for (;;) await engine.infer(feeds);`;
  // --input-type=module is inherited by the engine's worker thread, which must still run its CommonJS program.
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [status, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (code, sig) => resolve([code, sig])));
  return { status, signal, stderr };
}

describe.skipIf(!hasOnnxRuntime)('engines in worker threads', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', libDir, '--declaration', 'false', '--sourceMap', 'false'], { cwd: root, stdio: 'inherit' });
  }, 180_000);

  it('4 workers, each with its own engine, infer for 3 s with results equal to the main thread engine and exit cleanly', () => {
    const run = spawnSync(process.execPath, ['bench/service/workers.mjs', '--workers', '4', '--seconds', '3', '--out', 'none'], {
      cwd: root, env: { ...process.env, TRTN_LIB_DIR: libDir }, encoding: 'utf8', timeout: 120_000,
    });
    console.log(run.stdout, run.stderr);
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => /^worker \d+:/.test(l));
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatch(/: [1-9]\d* infers, 0 mismatches, exit 0, disposed true/);
  });

  it('a worker holding an idle engine is terminated without crashing the process; the main thread engine keeps working', () => terminateWorkerWithEngine(false));

  // The engine of a worker hosts its session in a child process: terminating the worker closes the IPC channel and the
  // process exits after its call. With a worker-thread host this aborted the process in about 7 runs of 8.
  it('a worker terminated during infer does not crash the process (3 times)', async () => {
    for (let i = 0; i < 3; i++) await terminateWorkerWithEngine(true);
  });

  // A main-thread engine keeps its worker-thread host; the process 'exit' listener holds the exit until the session
  // thread is between calls. Without it these ended in SIGABRT (status 134) in about 1 run of 3.
  it('process.exit() while infers are in flight exits with its own code, not an abort (4 times)', async () => {
    for (const afterMs of [150, 200, 250, 300]) {
      const run = await endDuringInfer('process.exit(7)', afterMs);
      expect(run.stderr).not.toContain('terminate called');
      expect({ status: run.status, signal: run.signal }).toEqual({ status: 7, signal: null });
    }
  });

  it('an uncaught exception while infers are in flight exits with status 1, not an abort (3 times)', async () => {
    for (const afterMs of [150, 220, 290]) {
      const run = await endDuringInfer("throw new Error('request handler bug')", afterMs);
      expect(run.stderr).toContain('request handler bug');
      expect(run.stderr).not.toContain('terminate called');
      expect({ status: run.status, signal: run.signal }).toEqual({ status: 1, signal: null });
    }
  });

  it('a worker whose engine is thread-hosted can process.exit() during infer', async () => {
    const index = pathToFileURL(join(libDir, 'index.js')).href;
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import(${JSON.stringify(index)}).then(async ({ buildEngine }) => {
         const engine = await buildEngine(${JSON.stringify(model)}, { backend: 'onnxruntime', precision: 'fp32', session: { host: 'thread' } });
         const feeds = { input: { data: new Float32Array(64 * 784).fill(0.5), dims: [64, 1, 28, 28], dtype: 'float32' } };
         await engine.infer(feeds);
         parentPort.postMessage('built');
         setTimeout(() => process.exit(5), 200);
         for (;;) await engine.infer(feeds);
       });`,
      { eval: true },
    );
    const exitCode = await new Promise<number>((resolve, reject) => {
      worker.once('exit', resolve);
      worker.once('error', reject);
    });
    expect(exitCode).toBe(5);
  });

  it('a process-hosted session gives the same logits as a thread-hosted one; session.host is validated', async () => {
    await using inThread = await buildEngine(model, { backend: 'onnxruntime', precision: 'fp32', session: { host: 'thread' } });
    await using inProcess = await buildEngine(model, { backend: 'onnxruntime', precision: 'fp32', session: { host: 'process' } });
    const feeds = feeds64();
    for (let i = 0; i < feeds.input.data.length; i++) feeds.input.data[i] = Math.sin(i * 0.37);
    const a = (await inThread.infer(feeds)).logits!.data as Float32Array;
    const b = (await inProcess.infer(feeds)).logits!.data as Float32Array;
    expect(b.length).toBe(64 * 10);
    expect(Array.from(b)).toEqual(Array.from(a));
    const err = await buildEngine(model, { backend: 'onnxruntime', precision: 'fp32', session: { host: 'cluster' as 'thread' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrtnError);
    expect((err as TrtnError).code).toBe('ERR_INVALID_ARG');
    expect((err as TrtnError).message).toContain('session.host');
  });
});
