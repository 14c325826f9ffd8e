/**
 * The shared-memory channel between the caller and a thread-hosted session (lib/backends/onnxruntime/channel.ts):
 * results equal onnxruntime-node's own, in call order with many calls in flight; tensors larger than the shared
 * region; int64 and float16 through shared memory; errors in the session thread; close with calls in flight; a
 * session thread that is gone rejects every call instead of hanging; each hand-off (either side polling or asleep)
 * gives the same results, the caller's event loop runs while it polls, and an idle session thread stops spinning.
 * The session thread calls onnxruntime-node's binding (ortCall 'binding') with the public API's results and argument
 * errors, and falls back to the public API where the binding has another shape; every ORT pool spin setting agrees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import '../../../lib/backends/onnxruntime/index.js';
import { REQ, type SharedChannel } from '../../../lib/backends/onnxruntime/channel.js';
import { resolveOrt, WorkerSession } from '../../../lib/backends/onnxruntime/session.js';
import { WORKER_SOURCE } from '../../../lib/backends/onnxruntime/worker-source.js';
import { buildEngine } from '../../../lib/engine/api.js';
import { makeNode } from '../../../lib/onnx/graph.js';
import { serializeModel } from '../../../lib/onnx/io.js';
import { DataType, type OnnxModel } from '../../../lib/onnx/model.js';
import { makeInt64Tensor } from '../../../lib/onnx/tensor.js';
import type { TensorData } from '../../../lib/engine/types.js';
import { seeded } from '../../quant/helpers.js';

const CNN = readFileSync('test/fixtures/models/fmnist_cnn.onnx');
const REPEATS = 100_000; // y = Tile(x, [1, REPEATS]): 2 rows of 4 values give 3.2 MB, more than the 1 MiB region

const value = (name: string, elemType: number, shape: (number | string)[]) => ({ name, type: { tensorType: { elemType, shape } } });
/** x float32 [N, 4], k int64 [N] -> y = Tile(x) float32, k2 = k + k int64, h = Cast(x) float16. */
const mixed: OnnxModel = {
  irVersion: 8,
  opsetImport: [{ domain: '', version: 17 }],
  producerName: 'test',
  graph: {
    name: 'mixed',
    nodes: [
      makeNode('Tile', ['x', 'repeats'], ['y'], { name: 'tile' }),
      makeNode('Add', ['k', 'k'], ['k2'], { name: 'add' }),
      makeNode('Cast', ['x'], ['h'], { name: 'cast', attributes: { to: DataType.FLOAT16 } }),
    ],
    initializers: [makeInt64Tensor('repeats', [1, REPEATS])],
    inputs: [value('x', DataType.FLOAT, ['N', 4]), value('k', DataType.INT64, ['N'])],
    outputs: [value('y', DataType.FLOAT, ['N', 'M']), value('k2', DataType.INT64, ['N']), value('h', DataType.FLOAT16, ['N', 4])],
    valueInfo: [],
  },
};

function images(batch: number, seed: number): TensorData {
  const rnd = seeded(seed);
  return { data: Float32Array.from({ length: batch * 784 }, () => rnd() * 3), dims: [batch, 1, 28, 28], dtype: 'float32' };
}

let direct: ort.InferenceSession;
let session: WorkerSession;

beforeAll(async () => {
  direct = await ort.InferenceSession.create(CNN, { intraOpNumThreads: 1 });
  session = await WorkerSession.open(CNN, { intraOpThreads: 1, host: 'thread' });
});
afterAll(async () => {
  await session?.close();
  await direct?.release();
});

async function expected(t: TensorData): Promise<Float32Array> {
  return (await direct.run({ input: new ort.Tensor('float32', t.data as Float32Array, [...t.dims]) })).logits!.data as Float32Array;
}

describe('shared-memory channel to the session thread', () => {
  it('many calls in flight: each gets its own result, equal to onnxruntime-node run directly, in call order', async () => {
    const feeds = [1, 64, 3, 17, 2000, 8, 300, 5].map((b, i) => images(b, i + 1)); // 2000 rows: 6.3 MB, more than the 1 MiB region
    const order: number[] = [];
    const outs = await Promise.all(feeds.map((f, i) => session.run({ input: f }).then((o) => (order.push(i), o))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [i, f] of feeds.entries()) {
      expect(outs[i]!.logits!.dims).toEqual([f.dims[0], 10]);
      expect(outs[i]!.logits!.data).toBeInstanceOf(Float32Array);
      expect(Array.from(outs[i]!.logits!.data as Float32Array)).toEqual(Array.from(await expected(f)));
    }
    // The caller's feeds are not touched, and results do not alias shared memory (a later call leaves them alone).
    const first = Array.from(outs[0]!.logits!.data as Float32Array);
    await session.run({ input: images(1, 99) });
    expect(Array.from(outs[0]!.logits!.data as Float32Array)).toEqual(first);
    expect((outs[0]!.logits!.data as Float32Array).buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(feeds[0]!.data as Float32Array)).toEqual(Array.from(images(1, 1).data as Float32Array));
  });

  it('named fetches go by message and give the same values', async () => {
    const f = images(4, 5);
    const out = await session.run({ input: f }, ['logits']);
    expect(Array.from(out.logits!.data as Float32Array)).toEqual(Array.from(await expected(f)));
  });

  it('outputs larger than the shared region; int64 and float16 tensors keep their values', async () => {
    const s = await WorkerSession.open(serializeModel(mixed), { intraOpThreads: 1, host: 'thread' });
    try {
      for (const rows of [2, 1, 2]) { // the first output is too large for the region (it comes by message), then it fits
        const x = Float32Array.from({ length: rows * 4 }, (_, i) => i * 0.25 - 3);
        const k = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * 3_000_000_000n - 7n);
        const out = await s.run({ x: { data: x, dims: [rows, 4], dtype: 'float32' }, k: { data: k, dims: [rows], dtype: 'int64' } });
        expect(out.y!.dims).toEqual([rows, 4 * REPEATS]);
        const y = out.y!.data as Float32Array;
        for (const r of [0, rows - 1]) for (const c of [0, 3, 4 * REPEATS - 1]) expect(y[r * 4 * REPEATS + c]).toBe(x[r * 4 + (c % 4)]);
        expect(out.k2!.data).toEqual(BigInt64Array.from(k, (v) => v + v));
        expect(out.h!.dtype).toBe('float16');
        expect(out.h!.data).toBeInstanceOf(Uint16Array);
        // float16 of i * 0.25 - 3 is exact: -3 is 0xC200, -2.75 is 0xC180
        expect(Array.from((out.h!.data as Uint16Array).subarray(0, 2))).toEqual([0xc200, 0xc180]);
      }
    } finally {
      await s.close();
    }
  });

  it("the session thread calls onnxruntime-node's binding (the pinned version has the expected shape); results and argument errors equal the public API's", async () => {
    expect(session.ortCall).toBe('binding');
    const pub = await WorkerSession.open(CNN, { intraOpThreads: 1, host: 'thread', ortCall: 'public' });
    try {
      expect(pub.ortCall).toBe('public');
      for (const b of [1, 8, 33]) {
        const f = images(b, b);
        const [a, p] = [await session.run({ input: f }), await pub.run({ input: f })];
        expect(Array.from(a.logits!.data as Float32Array)).toEqual(Array.from(p.logits!.data as Float32Array));
        expect(Array.from(a.logits!.data as Float32Array)).toEqual(Array.from(await expected(f)));
      }
      // The checks the public API makes before running, with its messages: a missing input, an unknown fetch name.
      const messages = async (s: WorkerSession) => Promise.all([
        s.run({ other: images(1, 1) }).then(() => 'ran', (e: Error) => e.message),
        s.run({ input: images(1, 1) }, ['nope']).then(() => 'ran', (e: Error) => e.message),
      ]);
      const [viaBinding, viaPublic] = [await messages(session), await messages(pub)];
      expect(viaBinding).toEqual(viaPublic);
      expect(viaBinding[0]).toContain("input 'input' is missing");
      expect(viaBinding[1]).toContain('invalid output name: nope');
    } finally {
      await pub.close();
    }
  });

  it('an error in the session thread rejects that call with ONNX Runtime\'s message; the calls around it succeed', async () => {
    const f = images(2, 7);
    const bad = { input: { data: new Float32Array(2 * 784), dims: [2, 1, 784, 1], dtype: 'float32' as const } };
    const results = await Promise.allSettled([session.run({ input: f }), session.run(bad), session.run({ input: f })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason.message)).toMatch(/input/i);
    expect(Array.from((results[2] as PromiseFulfilledResult<Record<string, TensorData>>).value.logits!.data as Float32Array)).toEqual(Array.from(await expected(f)));
  });

  it('close() with calls in flight: they finish, close resolves, later calls reject', async () => {
    const s = await WorkerSession.open(CNN, { intraOpThreads: 1, host: 'thread' });
    const calls = [64, 64, 64].map((b, i) => s.run({ input: images(b, i) }));
    await s.close();
    for (const c of calls) expect((await c).logits!.dims).toEqual([64, 10]);
    await expect(s.run({ input: images(1, 1) })).rejects.toThrow(/exited/);
  });

  it('a session thread that is gone rejects the calls queued and later ones, without hanging', async () => {
    const s = await WorkerSession.open(CNN, { intraOpThreads: 1, host: 'thread' });
    await s.run({ input: images(1, 1) });
    // Stopped while idle (asleep in Atomics.wait): stopping it inside ONNX Runtime would abort the process.
    await (s as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const calls = [s.run({ input: images(1, 2) }), s.run({ input: images(2, 3) })];
    for (const c of calls) await expect(c).rejects.toThrow(/exited/);
  });

  it('each hand-off (session thread spinning or asleep, caller polling or asleep) gives the same results, back to back and spaced', async () => {
    const feeds = [1, 8, 1, 64].map((b, i) => images(b, 40 + i));
    const want = await Promise.all(feeds.map(expected));
    for (const handoff of [{ spinUs: 0, pollUs: 0 }, { spinUs: 200, pollUs: 0 }, { spinUs: 0, pollUs: 300 }, { spinUs: 5000, pollUs: 100_000 }]) {
      const s = await WorkerSession.open(CNN, { intraOpThreads: 1, host: 'thread', handoff });
      try {
        for (let round = 0; round < 3; round++) {
          for (const [i, f] of feeds.entries()) expect(Array.from((await s.run({ input: f })).logits!.data as Float32Array)).toEqual(Array.from(want[i]!));
          await new Promise((r) => setTimeout(r, round * 10)); // then a pause: the next call finds the thread asleep
        }
      } finally {
        await s.close();
      }
    }
  });

  it('a late wake-up (a notify with no new request) serves nothing: the next calls get their own results', async () => {
    const s = await WorkerSession.open(CNN, { intraOpThreads: 1, host: 'thread' });
    try {
      const f = images(2, 11);
      await s.run({ input: f });
      // What the caller's notify looks like when it comes after the session thread already served that request.
      const control = (s as unknown as { channel: SharedChannel }).channel.ends().control;
      Atomics.notify(new Int32Array(control), REQ);
      await new Promise((r) => setTimeout(r, 50));
      // Serving the last request again would read its outputs as feeds and leave an error reply on the port, which
      // the next request answered by message (named fetches) would take for its own.
      expect(Array.from((await s.run({ input: f }, ['logits'])).logits!.data as Float32Array)).toEqual(Array.from(await expected(f)));
      expect(Array.from((await s.run({ input: f })).logits!.data as Float32Array)).toEqual(Array.from(await expected(f)));
    } finally {
      await s.close();
    }
  });

  it('while the caller polls for a reply its event loop keeps running', async () => {
    const s = await WorkerSession.open(CNN, { intraOpThreads: 1, host: 'thread', handoff: { spinUs: 0, pollUs: 1_000_000 } });
    try {
      const big = images(3000, 3); // tens of ms in ONNX Runtime
      await s.run({ input: big }); // a reply within the poll window: the next call polls
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const t0 = performance.now();
      await s.run({ input: big });
      const ms = performance.now() - t0;
      clearInterval(timer);
      expect(ms).toBeGreaterThan(5);
      expect(ticks).toBeGreaterThan(0); // a blocking wait would have run no timer callback
    } finally {
      await s.close();
    }
  });

  it('after a burst of calls an idle session thread stops spinning (CPU time far below wall time)', async () => {
    const s = await WorkerSession.open(CNN, { intraOpThreads: 1, host: 'thread', handoff: { spinUs: 200, pollUs: 300 } });
    try {
      for (let i = 0; i < 200; i++) await s.run({ input: images(1, i) }); // back to back: the thread spins between them
      await new Promise((r) => setTimeout(r, 50));
      const before = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 400));
      const used = process.cpuUsage(before);
      // A thread spinning on would burn about 400 ms; asleep, the whole process uses next to nothing.
      expect((used.user + used.system) / 1000).toBeLessThan(150);
    } finally {
      await s.close();
    }
  });

  it('session.handoff is validated: a negative, infinite or non-numeric value is ERR_INVALID_ARG naming the field', async () => {
    for (const handoff of [{ spinUs: -1 }, { pollUs: Infinity }, { spinUs: '200' }, 'fast']) {
      await expect(buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime', session: { handoff } as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('session.handoff') });
    }
  });

  it("an onnxruntime-node whose binding has another shape (or none) is called through its public API, with the same results", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trtn-fake-ort-'));
    try {
      const real = resolveOrt();
      const f = images(2, 13);
      for (const binding of ['module.exports = { binding: {}, initOrt() {} };', undefined]) {
        const dist = join(dir, binding ? 'changed' : 'missing', 'dist');
        mkdirSync(dist, { recursive: true });
        writeFileSync(join(dist, 'index.js'), `module.exports = require(${JSON.stringify(real)});`);
        if (binding) writeFileSync(join(dist, 'binding.js'), binding);
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: join(dist, 'index.js'), model: CNN, sessionOptions: { intraOpNumThreads: 1 } } });
        try {
          const replies: Record<string, unknown>[] = [];
          const next = () => new Promise<Record<string, unknown>>((resolve) => worker.once('message', resolve));
          replies.push(await next());
          expect(replies[0]).toMatchObject({ type: 'ready', ortCall: 'public', inputNames: ['input'] });
          worker.postMessage({ id: 1, type: 'run', feeds: { input: f } });
          const reply = (await next()) as { ok: boolean; outputs: Record<string, TensorData> };
          expect(reply.ok).toBe(true);
          expect(Array.from(reply.outputs.logits!.data as Float32Array)).toEqual(Array.from(await expected(f)));
        } finally {
          await worker.terminate();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ORT's pool spin (OrtSessionOptions.spinning): each setting gives the same results; a negative or infinite time is ERR_INVALID_ARG", async () => {
    const f = images(8, 12);
    const want = Array.from(await expected(f));
    for (const spinning of [0, 100, 'in-run', true, false] as const) {
      const s = await WorkerSession.open(CNN, { intraOpThreads: 2, host: 'thread', spinning });
      try {
        for (let i = 0; i < 3; i++) expect(Array.from((await s.run({ input: f })).logits!.data as Float32Array)).toEqual(want);
      } finally {
        await s.close();
      }
    }
    for (const spinning of [-1, Infinity, Number.NaN]) await expect(WorkerSession.open(CNN, { spinning })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('spinning') });
  });

  it("session.ortCall: 'public' gives the binding's results through the engine; another value is ERR_INVALID_ARG", async () => {
    const f = images(3, 11);
    const engines = [await buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime', session: { ortCall: 'public', intraOpThreads: 1 } }), await buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime', session: { intraOpThreads: 1 } })];
    try {
      const [a, b] = [await engines[0]!.infer({ input: f }), await engines[1]!.infer({ input: f })];
      expect(Array.from(a.logits!.data as Float32Array)).toEqual(Array.from(b.logits!.data as Float32Array));
    } finally {
      for (const e of engines) e.dispose();
    }
    await expect(buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime', session: { ortCall: 'native' } as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('session.ortCall') });
  });

  it('through the engine: concurrent infer calls and an ORT failure as ERR_INFERENCE', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime', session: { intraOpThreads: 1 } });
    try {
      const feeds = [1, 8, 64].map((b, i) => images(b, 20 + i));
      const outs = await Promise.all(feeds.map((f) => engine.infer({ input: f })));
      for (const [i, f] of feeds.entries()) expect(Array.from(outs[i]!.logits!.data as Float32Array)).toEqual(Array.from(await expected(f)));
    } finally {
      await engine[Symbol.asyncDispose]();
    }
    const reshape: OnnxModel = { ...mixed, graph: { ...mixed.graph, name: 'reshape-by-3', nodes: [makeNode('Reshape', ['x', 'shape'], ['y'], { name: 'reshape_by_3' })], initializers: [makeInt64Tensor('shape', [3, -1])], inputs: [value('x', DataType.FLOAT, ['N', 4])], outputs: [value('y', DataType.FLOAT, [3, 'M'])] } };
    const failing = await buildEngine(serializeModel(reshape), { precision: 'fp32', backend: 'onnxruntime' });
    try {
      await expect(failing.infer({ x: { data: new Float32Array(4), dims: [1, 4], dtype: 'float32' } })).rejects.toMatchObject({ code: 'ERR_INFERENCE' });
      const ok = await failing.infer({ x: { data: Float32Array.from({ length: 12 }, (_, i) => i), dims: [3, 4], dtype: 'float32' } });
      expect(Array.from(ok.y!.data as Float32Array)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    } finally {
      await failing[Symbol.asyncDispose]();
    }
  });
});
