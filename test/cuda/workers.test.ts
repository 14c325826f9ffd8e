// The addon keeps no process-wide JS state (per-env instance data and constructors), so it must load in the
// main thread and in several workers at once, each getting its own working classes.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { nativeAddon, packageRoot } from '../../lib/native/addon.js';
import { cudaInfo } from '../../lib/cuda/index.js';

// Workers run plain JS (no TypeScript), so they load the .node file the main thread loaded, by path.
const nodeGypBuild = createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string };
const addonPath = process.env.TRTN_ADDON_PATH ?? nodeGypBuild.path(packageRoot);

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addonPath);
const out = { build: addon.buildInfo() };
if (typeof addon.cudaInfo === 'function') {
  const info = addon.cudaInfo(false);
  out.deviceCount = info.deviceCount;
  out.cudaError = info.error ? info.error.name : null;
  // Exercise this env's own class registration: a real allocation on a GPU, a CUDA error without one.
  try {
    const b = new addon.CudaDeviceBuffer(1024, 0);
    const host = new Uint8Array(1024).map((_, i) => (i * 7 + workerData.id) & 255);
    b.copyFromHost(host, 0, 0, 1024);
    const back = new Uint8Array(1024);
    b.copyToHost(back, 0, 0, 1024);
    out.roundTrip = back.every((v, i) => v === host[i]);
    b.dispose();
    try { b.copyToHost(back, 0, 0, 1); } catch (e) { out.afterDispose = e.code; }
  } catch (e) {
    out.allocError = e.code;
  }
}
parentPort.postMessage(out);
`;

function runWorker(id: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: { addonPath, id } });
    worker.once('message', (m) => {
      resolve(m as Record<string, unknown>);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0 && code !== 1) reject(new Error(`worker ${id} exited with ${code}`));
    });
  });
}

describe('worker threads', () => {
  it('loads in the main thread and in 3 workers at once, each reporting buildInfo', async () => {
    const main = nativeAddon().buildInfo();
    const results = await Promise.all([runWorker(1), runWorker(2), runWorker(3)]);
    const info = cudaInfo();
    for (const r of results) {
      expect(r.build).toEqual(main);
      expect(r.deviceCount).toBe(info.deviceCount);
      if (info.deviceCount === 0) {
        expect(r.cudaError).toBe(info.cudaError);
        expect(r.allocError).toBe('ERR_NO_CUDA_DEVICE');
      } else {
        expect(r.roundTrip).toBe(true);
        expect(r.afterDispose).toBe('ERR_DISPOSED');
      }
    }
    // The main thread's addon still works after the workers' envs were torn down.
    expect(nativeAddon().buildInfo()).toEqual(main);
    expect(cudaInfo().deviceCount).toBe(info.deviceCount);
  });
});
