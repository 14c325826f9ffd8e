#!/usr/bin/env node
// Host<->device bandwidth from a PinnedBuffer through the library's API, against raw cudaMemcpyAsync looped in
// C++ (the addon's native benchmark entry point), plus the cost of one JS->native call that records and
// synchronises an event. Needs a GPU; elsewhere it says why and exits 0.
//
//   npx tsc -p tsconfig.json && node bench/cuda-transfer.mjs [--device 0] [--out bench/results/cuda-transfer.json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const argValue = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const device = Number(argValue('--device', '0'));
const outPath = resolve(argValue('--out', resolve(here, 'results', 'cuda-transfer.json')));

let lib;
try {
  lib = await import('../dist/cuda/index.js');
} catch (err) {
  console.error(`cuda-transfer: the compiled library is missing (${err.message}); run 'npx tsc -p tsconfig.json' first`);
  process.exit(1);
}
const { cudaInfo, DeviceBuffer, PinnedBuffer, Stream, Event } = lib;
const { cudaNative } = await import('../dist/cuda/native.js');

const info = cudaInfo();
if (info.deviceCount <= device) {
  const why = info.deviceCount === 0 ? info.reason : `device ${device} does not exist (${info.deviceCount} device(s))`;
  console.log(`cuda-transfer: skipped, no CUDA device to measure: ${why}`);
  if (info.fix) console.log(`  fix: ${info.fix}`);
  console.log('  (no results written)');
  process.exit(0);
}
const native = cudaNative();
const gpu = cudaInfo({ freeMemory: true }).devices[device];

const MiB = 1024 ** 2;
const SIZES = [1, 16, 256].map((m) => m * MiB);
const ITERATIONS = { [1 * MiB]: 300, [16 * MiB]: 60, [256 * MiB]: 12 };
const ROUND_TRIPS = 10_000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const gbps = (bytes, seconds) => bytes / seconds / 1e9;
const summarise = (bytes, seconds) => ({
  bestGBps: gbps(bytes, Math.min(...seconds)),
  medianGBps: gbps(bytes, median(seconds)),
  iterations: seconds.length,
});

function timeApi(direction, bytes, iterations) {
  const stream = new Stream({ device });
  const pinned = PinnedBuffer.alloc(bytes);
  const buffer = DeviceBuffer.alloc(bytes, { device });
  pinned.view(Uint8Array).fill(7);
  const once = direction === 'h2d'
    ? () => { buffer.copyFromAsync(pinned, stream); stream.synchronize(); }
    : () => { buffer.copyToAsync(pinned, stream); stream.synchronize(); };
  try {
    once(); // first-touch costs are not bandwidth
    const seconds = new Float64Array(iterations);
    for (let i = 0; i < iterations; i++) {
      const t0 = process.hrtime.bigint();
      once();
      seconds[i] = Number(process.hrtime.bigint() - t0) / 1e9;
    }
    return Array.from(seconds);
  } finally {
    buffer.dispose();
    pinned.dispose();
    stream.dispose();
  }
}

function timeRoundTrip(calls) {
  const stream = new Stream({ device });
  const event = new Event({ device });
  try {
    for (let i = 0; i < 1000; i++) event.recordAndSynchronize(stream); // warm up (JIT, driver)
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) event.recordAndSynchronize(stream);
    return Number(process.hrtime.bigint() - t0) / 1e3 / calls;
  } finally {
    event.dispose();
    stream.dispose();
  }
}

console.log(`cuda-transfer on ${gpu.name} (compute ${gpu.computeCapability}), driver CUDA ${info.driverVersion}, runtime ${info.runtimeVersion}, Node ${process.version}`);
const transfers = [];
for (const bytes of SIZES) {
  for (const direction of ['h2d', 'd2h']) {
    const iterations = ITERATIONS[bytes];
    const api = summarise(bytes, timeApi(direction, bytes, iterations));
    const raw = summarise(bytes, Array.from(native.cudaBenchMemcpy(direction, bytes, iterations, device)));
    const row = {
      direction, mib: bytes / MiB, api, raw,
      ratioBest: api.bestGBps / raw.bestGBps,
      ratioMedian: api.medianGBps / raw.medianGBps,
    };
    transfers.push(row);
    console.log(
      `  ${direction} ${String(row.mib).padStart(3)} MiB  api best ${api.bestGBps.toFixed(2)} GB/s, median ${api.medianGBps.toFixed(2)} GB/s | ` +
      `raw best ${raw.bestGBps.toFixed(2)} GB/s, median ${raw.medianGBps.toFixed(2)} GB/s | api/raw ${(row.ratioBest * 100).toFixed(1)}% best, ${(row.ratioMedian * 100).toFixed(1)}% median`,
    );
  }
}

const apiRoundTripUs = timeRoundTrip(ROUND_TRIPS);
const rawRoundTripUs = native.cudaBenchEventRoundTrip(ROUND_TRIPS, device);
console.log(`  event record+synchronize, one JS call: ${apiRoundTripUs.toFixed(2)} us mean over ${ROUND_TRIPS} (native loop ${rawRoundTripUs.toFixed(2)} us, JS->native overhead ${(apiRoundTripUs - rawRoundTripUs).toFixed(2)} us)`);

const worstMedianRatio = Math.min(...transfers.map((t) => t.ratioMedian));
const targets = {
  bandwidthAtLeast90PercentOfRaw: worstMedianRatio >= 0.9,
  roundTripUnder20us: apiRoundTripUs < 20,
};
console.log(`  targets: api >= 90% of raw (worst median ratio ${(worstMedianRatio * 100).toFixed(1)}%): ${targets.bandwidthAtLeast90PercentOfRaw ? 'met' : 'NOT met'}; round trip < 20 us: ${targets.roundTripUnder20us ? 'met' : 'NOT met'}`);

const results = {
  benchmark: 'cuda-transfer',
  date: new Date().toISOString(),
  machine: {
    gpu: gpu.name, computeCapability: gpu.computeCapability, totalMemory: gpu.totalMemory, pciBusId: gpu.pciBusId,
    driverCuda: info.driverVersion, runtimeCuda: info.runtimeVersion, node: process.version,
    cpu: cpus()[0]?.model, cpuCount: cpus().length, loadAverage1m: loadavg()[0],
  },
  method: 'wall clock per iteration around one cudaMemcpyAsync from/to page-locked memory + stream synchronize; api = DeviceBuffer.copyFromAsync/copyToAsync + Stream.synchronize from JS, raw = the same CUDA calls looped in C++ (cudaBenchMemcpy); GB = 1e9 bytes',
  note: 'other processes on the machine perturb timings; compare api and raw from the same run',
  transfers,
  roundTrip: { calls: ROUND_TRIPS, apiMeanUs: apiRoundTripUs, rawMeanUs: rawRoundTripUs, overheadUs: apiRoundTripUs - rawRoundTripUs },
  targets,
};
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
console.log(`  wrote ${outPath}`);
