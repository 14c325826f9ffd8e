// The CUDA layer on a real GPU. Skipped (with the reason printed) where there is none.
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { TrtnError } from '../../lib/errors.js';
import { packageRoot } from '../../lib/native/addon.js';
import { cudaInfo, cudaMemInfo, DeviceBuffer, Event, PinnedBuffer, Stream } from '../../lib/cuda/index.js';
import { cudaNative } from '../../lib/cuda/native.js';

const info = cudaInfo();
const hasGpu = info.deviceCount > 0;
if (!hasGpu) {
  console.log(`test/gpu/cuda.test.ts skipped: no CUDA device (${info.cudaError ?? info.errorCode}: ${info.reason})`);
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TrtnError);
    return (err as TrtnError).code;
  }
  return 'no error';
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

/** Deterministic non-trivial data: every element differs from its neighbours. */
function pattern(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * 2654435761 + seed) % 1000003) / 7 - 1000;
  return out;
}

async function settle(): Promise<void> {
  // N-API finalizers run after GC, from the event loop.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

describe.skipIf(!hasGpu)('CUDA on a GPU', () => {
  it('reports devices with compute capability and memory', () => {
    const full = cudaInfo({ freeMemory: true });
    expect(full.driverVersion).not.toBeNull();
    expect(full.devices.length).toBe(full.deviceCount);
    const d = full.devices[0]!;
    expect(d.name.length).toBeGreaterThan(0);
    expect(d.major).toBeGreaterThanOrEqual(7);
    expect(d.computeCapability).toBe(`${d.major}.${d.minor}`);
    expect(d.totalMemory).toBeGreaterThan(GiB);
    expect(d.freeMemory).toBeGreaterThan(0);
    expect(d.freeMemory).toBeLessThanOrEqual(d.totalMemory);
    expect(d.uuid).toMatch(/^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('round-trips a Float32Array synchronously', () => {
    const data = pattern(1 << 20, 1);
    using device = DeviceBuffer.from(data);
    expect(device.byteLength).toBe(data.byteLength);
    const back = device.copyTo(new Float32Array(data.length));
    expect(back).toEqual(data);
  });

  it('copies sub-ranges with host and device offsets', () => {
    using device = DeviceBuffer.alloc(64);
    device.copyFrom(new Uint8Array(64)); // zero it
    const src = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    // bytes 4..11 of src land at device bytes 16..23
    device.copyFrom(src, { hostOffset: 4, deviceOffset: 16, bytes: 8 });
    const all = device.copyTo(new Uint8Array(64));
    expect(Array.from(all.subarray(16, 24))).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(all.subarray(0, 16).every((v) => v === 0)).toBe(true);
    expect(all.subarray(24).every((v) => v === 0)).toBe(true);
    // device bytes 16..19 into the middle of a DataView over a larger buffer
    const target = new DataView(new ArrayBuffer(16), 4, 8);
    device.copyTo(target, { hostOffset: 2, deviceOffset: 16, bytes: 4 });
    expect(Array.from(new Uint8Array(target.buffer))).toEqual([0, 0, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0]);
  });

  it('round-trips through pinned memory on a stream', () => {
    const n = 4 * MiB / 4;
    using stream = new Stream();
    using src = PinnedBuffer.alloc(n * 4);
    using dst = PinnedBuffer.alloc(n * 4);
    using device = DeviceBuffer.alloc(n * 4);
    const expected = pattern(n, 2);
    src.view(Float32Array).set(expected);
    device.copyFromAsync(src, stream);
    device.copyToAsync(dst, stream);
    // The last copy's pinned memory is kept until the stream says it is done.
    expect(stream.pendingHostBuffers).toBeGreaterThanOrEqual(1);
    stream.synchronize();
    expect(stream.pendingHostBuffers).toBe(0);
    expect(stream.query()).toBe(true);
    expect(dst.view(Float32Array)).toEqual(expected);
  });

  it('keeps pinned memory alive for an in-flight copy when it is disposed before the stream syncs', () => {
    const bytes = 256 * MiB;
    using stream = new Stream();
    using device = DeviceBuffer.alloc(bytes);
    const src = PinnedBuffer.alloc(bytes);
    const view = src.view(Uint32Array);
    for (let i = 0; i < view.length; i += 1024) view[i] = i;
    device.copyFromAsync(src, stream);
    src.dispose();
    expect(view.length).toBe(0); // detached at once: JS can no longer read it
    stream.synchronize();
    const back = device.copyTo(new Uint32Array(bytes / 4));
    for (let i = 0; i < back.length; i += 1024 * 97) expect(back[i]).toBe(i);
  });

  it('views share memory, respect offsets, and are detached by dispose', () => {
    const pinned = PinnedBuffer.alloc(64);
    const bytes = pinned.view(Uint8Array);
    const floats = pinned.view(Float32Array, 16, 4);
    floats[0] = 1.5;
    expect(Array.from(bytes.subarray(16, 20))).toEqual(Array.from(new Uint8Array(new Float32Array([1.5]).buffer)));
    expect(codeOf(() => pinned.view(Float32Array, 2))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => pinned.view(Float32Array, 0, 17))).toBe('ERR_INVALID_ARG');
    pinned.dispose();
    expect(bytes.length).toBe(0);
    expect(floats.length).toBe(0);
    expect(bytes[0]).toBeUndefined();
    expect(codeOf(() => pinned.view(Uint8Array))).toBe('ERR_DISPOSED');
    pinned.dispose(); // idempotent
  });

  it('times work between two events (positive milliseconds)', () => {
    using stream = new Stream();
    using start = new Event();
    using end = new Event();
    using src = PinnedBuffer.alloc(64 * MiB);
    using device = DeviceBuffer.alloc(64 * MiB);
    start.record(stream);
    device.copyFromAsync(src, stream);
    end.record(stream);
    end.synchronize();
    expect(end.query()).toBe(true);
    const ms = Event.elapsedTime(start, end);
    expect(ms).toBeGreaterThan(0);
    expect(end.elapsedSince(start)).toBe(ms);
    start.recordAndSynchronize(stream);
    expect(start.query()).toBe(true);
  });

  it('throws ERR_DISPOSED on use after dispose, never crashes', () => {
    const device = DeviceBuffer.alloc(16);
    const stream = new Stream();
    const event = new Event();
    const pinned = PinnedBuffer.alloc(16);
    device.dispose();
    stream.dispose();
    event.dispose();
    expect(device.disposed && stream.disposed && event.disposed).toBe(true);
    expect(codeOf(() => device.copyFrom(new Uint8Array(16)))).toBe('ERR_DISPOSED');
    expect(codeOf(() => device.copyTo(new Uint8Array(16)))).toBe('ERR_DISPOSED');
    expect(codeOf(() => stream.synchronize())).toBe('ERR_DISPOSED');
    expect(codeOf(() => stream.query())).toBe('ERR_DISPOSED');
    expect(codeOf(() => event.synchronize())).toBe('ERR_DISPOSED');
    using live = new Stream();
    expect(codeOf(() => event.record(live))).toBe('ERR_DISPOSED');
    using liveBuffer = DeviceBuffer.alloc(16);
    expect(codeOf(() => liveBuffer.copyFromAsync(pinned, stream))).toBe('ERR_DISPOSED');
    // The native objects check too, for callers that bypass the wrappers.
    expect(codeOf(() => device.native.copyFromHost(new Uint8Array(16), 0, 0, 16))).toBe('ERR_DISPOSED');
    expect(codeOf(() => stream.native.synchronize())).toBe('ERR_DISPOSED');
    device.dispose();
    stream[Symbol.dispose]();
    pinned.dispose();
  });

  it('rejects out-of-range copies with ERR_INVALID_ARG naming the sizes', () => {
    using device = DeviceBuffer.alloc(1024);
    expect(codeOf(() => device.copyFrom(new Uint8Array(2048)))).toBe('ERR_INVALID_ARG');
    expect(messageOf(() => device.copyFrom(new Uint8Array(2048)))).toBe('copy of 2048 bytes at device offset 0 exceeds the DeviceBuffer of 1024 bytes');
    expect(messageOf(() => device.copyFrom(new Uint8Array(16), { deviceOffset: 1020 }))).toMatch(/16 bytes at device offset 1020 .* 1024 bytes/);
    expect(messageOf(() => device.copyTo(new Uint8Array(8), { hostOffset: 4, bytes: 8 }))).toMatch(/8 bytes at host offset 4 exceeds the target of 8 bytes/);
    expect(codeOf(() => device.copyTo(new Uint8Array(8), { hostOffset: 9 }))).toBe('ERR_INVALID_ARG');
    // The native layer checks the same ranges when called directly.
    expect(messageOf(() => device.native.copyFromHost(new Uint8Array(8), 0, 1020, 8))).toBe('copy of 8 bytes at device offset 1020 exceeds the device size of 1024 bytes');
    expect(messageOf(() => device.native.copyToHost(new Uint8Array(8), 4, 0, 8))).toBe('copy of 8 bytes at host offset 4 exceeds the host size of 8 bytes');
  });

  it('rejects asynchronous copies from pageable memory', () => {
    using device = DeviceBuffer.alloc(16);
    using stream = new Stream();
    expect(messageOf(() => device.copyFromAsync(new Uint8Array(16) as unknown as PinnedBuffer, stream))).toMatch(/needs a PinnedBuffer/);
    expect(codeOf(() => device.native.copyFromHostAsync(new Uint8Array(16) as never, 0, 0, 16, stream.native))).toBe('ERR_INVALID_ARG');
  });

  it('frees device memory on dispose (cudaMemGetInfo)', () => {
    const before = cudaMemInfo(0).free;
    const device = DeviceBuffer.alloc(GiB);
    const during = cudaMemInfo(0).free;
    expect(before - during).toBeGreaterThanOrEqual(GiB);
    device.dispose();
    const after = cudaMemInfo(0).free;
    expect(after - during).toBeGreaterThanOrEqual(GiB);
  });

  it('frees device memory of a forgotten buffer when it is garbage collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = cudaMemInfo(0).free;
    (() => {
      DeviceBuffer.alloc(GiB);
    })();
    expect(before - cudaMemInfo(0).free).toBeGreaterThanOrEqual(GiB);
    let freed = false;
    for (let i = 0; i < 20 && !freed; i++) {
      gc();
      await settle();
      freed = before - cudaMemInfo(0).free < GiB / 2;
    }
    expect(freed).toBe(true);
  });

  it('frees the device memory of a terminated worker (env cleanup hook)', async () => {
    const addonPath = process.env.TRTN_ADDON_PATH ?? (createRequire(import.meta.url)('node-gyp-build') as { path(d: string): string }).path(packageRoot);
    const before = cudaMemInfo(0).free;
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const addon = require(workerData.addonPath);
       globalThis.keep = new addon.CudaDeviceBuffer(${GiB}, 0);
       parentPort.postMessage('allocated');
       setInterval(() => {}, 1000);`,
      { eval: true, workerData: { addonPath } },
    );
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    expect(before - cudaMemInfo(0).free).toBeGreaterThanOrEqual(GiB);
    await worker.terminate();
    expect(before - cudaMemInfo(0).free).toBeLessThan(GiB / 2);
  });

  it('runs the native benchmark entry points', () => {
    const native = cudaNative();
    const seconds = native.cudaBenchMemcpy('h2d', MiB, 3, 0);
    expect(seconds.length).toBe(3);
    for (const s of seconds) expect(s).toBeGreaterThan(0);
    expect(native.cudaBenchEventRoundTrip(10, 0)).toBeGreaterThan(0);
  });

  it('reports an invalid device index as ERR_NO_CUDA_DEVICE with cudaErrorInvalidDevice', () => {
    const device = info.deviceCount + 3;
    expect(codeOf(() => DeviceBuffer.alloc(16, { device }))).toBe('ERR_NO_CUDA_DEVICE');
    expect(messageOf(() => new Stream({ device }))).toMatch(/cudaErrorInvalidDevice/);
  });
});
