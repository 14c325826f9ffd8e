// The native bridge that feeds TensorRT's INT8 calibrator, tested without TensorRT: batches of real
// Fashion-MNIST images are pulled on a native std::thread through the same BatchSource the calibrator uses.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pullBatchesNatively, fnv1a32 } from '../../lib/native/bridge.js';
import { nativeAddon, packageRoot } from '../../lib/native/addon.js';
import { TrtnError } from '../../lib/errors.js';
import type { Feeds } from '../../lib/engine/types.js';
import { join } from 'node:path';
import { defaultFashionMnistDir } from '../../lib/data/fashion-mnist.js';

const BATCH = 8;
const ITEM = 28 * 28;
const BYTES = BATCH * ITEM * 4;

// First 40 test images, normalised as the fixture models expect, in batches of 8.
function fashionMnistBatches(count = 5): Float32Array[] {
  const raw = gunzipSync(readFileSync(join(defaultFashionMnistDir(), 't10k-images-idx3-ubyte.gz')));
  expect(raw.readUInt32BE(0)).toBe(2051);
  const batches: Float32Array[] = [];
  for (let b = 0; b < count; b++) {
    const out = new Float32Array(BATCH * ITEM);
    for (let i = 0; i < out.length; i++) out[i] = (raw[16 + b * BATCH * ITEM + i]! / 255 - 0.286) / 0.353;
    batches.push(out);
  }
  return batches;
}

const feeds = (data: Float32Array): Feeds => ({ input: { data, dims: [BATCH, 1, 28, 28], dtype: 'float32' } });
const inputs = [{ name: 'input', dtype: 'float32' as const, bytes: BYTES }];

async function expectTrtnError(p: Promise<unknown>, code: string): Promise<TrtnError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TrtnError);
  expect((err as TrtnError).code).toBe(code);
  return err as TrtnError;
}

describe('native batch bridge', () => {
  it('delivers batches in order, byte for byte (checksums of what native received)', async () => {
    const batches = fashionMnistBatches(5);
    async function* loader() {
      for (const b of batches) {
        await new Promise((r) => setTimeout(r, 2));
        yield feeds(b);
      }
    }
    const result = await pullBatchesNatively(loader(), { inputs, batches: 5 });
    expect(result.received).toBe(5);
    expect(result.ended).toBe(false);
    expect(result.checksums).toEqual(batches.map(fnv1a32));
    // Distinct images give distinct checksums, so order is really checked.
    expect(new Set(result.checksums).size).toBe(5);
  });

  it('reports the end of data when the loader runs out (Batch objects and sync iterables work too)', async () => {
    const batches = fashionMnistBatches(3);
    const result = await pullBatchesNatively(batches.map((b) => ({ feeds: feeds(b) })), { inputs, batches: 10 });
    expect(result.received).toBe(3);
    expect(result.ended).toBe(true);
    expect(result.checksums).toEqual(batches.map(fnv1a32));
  });

  it("a throwing loader rejects with ERR_CALIB_DATA carrying the loader's message and cause", async () => {
    const [first] = fashionMnistBatches(1);
    const cause = new Error('disk went away at image 8');
    async function* loader() {
      yield feeds(first!);
      throw cause;
    }
    const err = await expectTrtnError(pullBatchesNatively(loader(), { inputs, batches: 4 }), 'ERR_CALIB_DATA');
    expect(err.message).toContain('disk went away at image 8');
    expect(err.cause).toBe(cause);
  });

  it('a wrong-sized batch names expected and actual bytes', async () => {
    const short = new Float32Array(4 * ITEM);
    const err = await expectTrtnError(pullBatchesNatively([feeds(short)], { inputs, batches: 1 }), 'ERR_CALIB_DATA');
    expect(err.message).toContain(`has ${4 * ITEM * 4} bytes, expected ${BYTES} bytes`);
    expect(err.message).toContain("input 'input'");
  });

  it('a wrong dtype names both dtypes', async () => {
    const wrong = { input: { data: new Int32Array(BATCH * ITEM), dims: [BATCH, 1, 28, 28], dtype: 'int32' } } as unknown as Feeds;
    const err = await expectTrtnError(pullBatchesNatively([wrong], { inputs, batches: 1 }), 'ERR_CALIB_DATA');
    expect(err.message).toContain('has dtype int32, expected float32');
  });

  it('a missing input names the input', async () => {
    const err = await expectTrtnError(pullBatchesNatively([{ other: feeds(new Float32Array(BATCH * ITEM)).input! }], { inputs, batches: 1 }), 'ERR_CALIB_DATA');
    expect(err.message).toContain("input 'input' should be a Float32Array but is undefined");
  });

  it('an AbortSignal ends a pull whose promise never settles (ERR_ABORTED, no hang)', async () => {
    const never = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Feeds>>(() => {}) }) };
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user pressed stop')), 30);
    const err = await expectTrtnError(pullBatchesNatively(never, { inputs, batches: 3, signal: controller.signal }), 'ERR_ABORTED');
    expect(err.message).toContain('user pressed stop');
  });

  it('an already-aborted signal rejects without pulling', async () => {
    let pulls = 0;
    async function* loader() {
      pulls++;
      yield feeds(new Float32Array(BATCH * ITEM));
    }
    await expectTrtnError(pullBatchesNatively(loader(), { inputs, batches: 3, signal: AbortSignal.abort() }), 'ERR_ABORTED');
    expect(pulls).toBe(0);
  });

  it('keeps the event loop free while the native thread works between pulls', async () => {
    const batches = fashionMnistBatches(4);
    let turns = 0;
    let running = true;
    const spin = () => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    // The native thread sleeps 40 ms after each batch (standing in for TensorRT's work); the loader is synchronous.
    const result = await pullBatchesNatively(batches.map(feeds), { inputs, batches: 4, workMs: 40 });
    running = false;
    expect(result.received).toBe(4);
    // ~160 ms of native work: a blocked loop would see a handful of turns at most.
    expect(turns).toBeGreaterThan(20);
  });

  it('survives a worker terminated while its pull is pending, and keeps working after', async () => {
    const require = createRequire(import.meta.url);
    const addonPath = process.env.TRTN_ADDON_PATH ?? require.resolve(`${packageRoot}/build/Release/tensorrt_node.node`);
    nativeAddon(); // the main thread holds the addon too: two envs load it at once
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const addon = require(${JSON.stringify(addonPath)});
       const job = addon.bridgePullBatches(() => { parentPort.postMessage('pulling'); return new Promise(() => {}); },
         { inputs: [{ name: 'input', dtype: 'float32', bytes: 16 }], batches: 2 });
       job.promise.then(() => parentPort.postMessage('resolved'), () => {});`,
      { eval: true },
    );
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (m) => (m === 'pulling' ? resolve() : reject(new Error(`unexpected ${String(m)}`))));
      worker.once('error', reject);
    });
    const exitCode = await worker.terminate();
    expect(exitCode).toBe(1);
    const [batch] = fashionMnistBatches(1);
    const result = await pullBatchesNatively([feeds(batch!)], { inputs, batches: 1 });
    expect(result.checksums).toEqual([fnv1a32(batch!)]);
  });
});
