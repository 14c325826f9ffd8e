/**
 * Fuzzing saved engine files through loadEngine: for the onnxruntime backend a saved engine is an ONNX model
 * that ONNX Runtime's own (native) parser reads, so a mutant that crashed it would take the process down.
 * Every mutant must load (then infer on a real-shaped input or reject cleanly) or be rejected with a TrtnError.
 * Count: TRTN_FUZZ_ENGINE_COUNT (default 1,000: each load creates an ONNX Runtime session).
 */
import { describe as suite, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadEngine } from '../../lib/index.js';
import { listBackends } from '../../lib/engine/backend.js';
import { fuzz, describe, FUZZ_SEED } from './fuzz.js';
import type { Engine } from '../../lib/engine/types.js';

// Register the onnxruntime backend where this checkout has it (lib/index.ts may not import it yet).
const ortBackend = '../../lib/backends/onnxruntime/index.js';
await import(/* @vite-ignore */ ortBackend).catch(() => undefined);

const COUNT = Number(process.env.TRTN_FUZZ_ENGINE_COUNT ?? 1_000);
const hasOnnxRuntime = listBackends().some((b) => b.name === 'onnxruntime');

suite.skipIf(!hasOnnxRuntime)('fuzz: loadEngine (onnxruntime backend)', () => {
  it(`${COUNT} mutants of the cnn engine load or reject with a TrtnError`, async () => {
    const bytes = readFileSync(new URL('../fixtures/models/fmnist_cnn.onnx', import.meta.url));
    const input = { input: { data: new Float32Array(2 * 784).fill(0.25), dims: [2, 1, 28, 28], dtype: 'float32' as const } };
    const s = await fuzz(
      {
        name: 'engine cnn',
        bytes,
        structure: 'protobuf',
        load: async (b) => {
          const engine: Engine = await loadEngine(b, { backend: 'onnxruntime' });
          try {
            // A model that loads may still be unrunnable: that must be a TrtnError too, never a crash.
            await engine.infer(input);
          } finally {
            await engine[Symbol.asyncDispose]();
          }
        },
        codes: ['ERR_ENGINE_LOAD', 'ERR_ONNX_LOAD', 'ERR_ONNX_PARSE', 'ERR_ONNX_MODEL', 'ERR_UNSUPPORTED', 'ERR_SHAPE', 'ERR_DTYPE', 'ERR_INFERENCE'],
      },
      COUNT,
      FUZZ_SEED ^ 0xe9,
    );
    console.log(describe(s, 'loadEngine cnn'));
    expect(s.failures).toEqual([]);
  });
});
