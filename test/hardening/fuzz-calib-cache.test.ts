/**
 * Fuzzing the calibration cache reader (lib/calib readCalibrationCache) with seeded mutants of a real cache for
 * the cnn fixture (one scale per tensor the model computes): bit flips, truncations, overwritten bytes, and
 * deleted or duplicated lines. Every mutant must read or be rejected with ERR_CALIB_CACHE; a mutant that reads
 * must give only finite non-negative scales. Count: TRTN_FUZZ_COUNT (default 10,000).
 */
import { describe as suite, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readCalibrationCache, writeCalibrationCache } from '../../lib/calib/cache.js';
import { loadModel } from '../../lib/onnx/index.js';
import { fuzz, fuzzCount, describe, FUZZ_SEED } from './fuzz.js';

const COUNT = fuzzCount(10_000);

function cnnCache(): Uint8Array {
  const model = loadModel(fileURLToPath(new URL('../fixtures/models/fmnist_cnn.onnx', import.meta.url)));
  const tensors = [...model.graph.inputs.map((v) => v.name), ...model.graph.nodes.flatMap((n) => n.outputs)];
  // Scales of the size a calibration of normalised Fashion-MNIST activations gives (amax 1..20, / 127).
  const scales = new Map(tensors.map((name, i) => [name, (1 + ((i * 7) % 20)) / 127]));
  return new TextEncoder().encode(writeCalibrationCache(scales));
}

suite('fuzz: calibration cache reader', () => {
  it(`${COUNT} mutants of the cnn cache read or reject with ERR_CALIB_CACHE`, async () => {
    const bytes = cnnCache();
    expect(readCalibrationCache(bytes).scales.size).toBeGreaterThan(10);
    const s = await fuzz(
      {
        name: 'calib-cache cnn',
        bytes,
        structure: 'lines',
        load: (b, label) => {
          const cache = readCalibrationCache(b, label);
          for (const [name, scale] of cache.scales) {
            if (!(Number.isFinite(scale) && scale >= 0)) throw new Error(`${label}: tensor '${name}' read with scale ${scale}`);
          }
        },
        codes: ['ERR_CALIB_CACHE'],
      },
      COUNT,
      FUZZ_SEED ^ 0xca1b,
    );
    console.log(describe(s, 'calib cache'));
    expect(s.failures).toEqual([]);
    expect(s.accepted).toBeGreaterThan(0);
    expect(s.rejected.ERR_CALIB_CACHE ?? 0).toBeGreaterThan(COUNT / 10);
  });
});
