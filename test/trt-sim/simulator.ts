/**
 * The TensorRT path of the package, run against the simulator of TensorRT and CUDA (native/trt/sim, linked into the
 * test-only addon build/sim/tensorrt_node_trtsim.node). Importing this module points the package at that addon;
 * import it before anything calls the addon.
 *
 * The simulator's kernel is a documented deterministic function of the inputs (native/trt/sim/runtime.cc), computed
 * here again as `reference`, so every output the backend returns is checked to the value, and streams run their work
 * later on their own threads, so a buffer reused before synchronization shows up as a wrong value.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { packageRoot, nativeAddon } from '../../lib/native/addon.js';
import { loadModel, serializeModel } from '../../lib/onnx/io.js';

export const SIM_ADDON = process.env.TRTN_SIM_ADDON_PATH ?? resolve(packageRoot, 'build/sim/tensorrt_node_trtsim.node');
if (!existsSync(SIM_ADDON)) throw new Error(`the TensorRT simulator addon is not built: ${SIM_ADDON} (npx cmake-js compile builds it in a checkout)`);
process.env.TRTN_ADDON_PATH = SIM_ADDON;
process.env.TRTN_ALLOW_TRT_SIMULATOR = '1';

export const PERSONALITIES = ['8.6', '10.0', '10.16', '11.1'] as const;
export type Personality = (typeof PERSONALITIES)[number];

export interface Finding { id: string; message: string }
export interface SimFaults {
  parse?: boolean; build?: boolean; timingCache?: boolean; deserialize?: boolean; noBuilder?: boolean; noRuntime?: boolean;
  enqueueFalse?: number; contextOomAfter?: number; stickyErrorAtEnqueue?: number;
}
export interface SimAddon {
  trtSimConfigure(options: { version?: Personality; streamDelayMs?: number; deviceMemoryBytes?: number; deviceName?: string; faults?: SimFaults }): void;
  trtSimReset(): void;
  trtSimViolations(): Finding[];
  trtSimHazards(): Finding[];
  trtSimStats(): Record<string, number> & { calibrationThreadIsBuilderThread: boolean };
}

export function sim(): SimAddon {
  return nativeAddon() as unknown as SimAddon;
}

/** After each test: the backend broke no documented contract, and nothing is left to the next test. */
export function expectNoViolations(): void {
  const s = sim();
  const violations = s.trtSimViolations();
  const hazards = s.trtSimHazards();
  s.trtSimReset();
  expect(violations, 'TensorRT/CUDA contracts the backend broke').toEqual([]);
  expect(hazards, 'hazards (overlapping builds on one device)').toEqual([]);
}

export const CNN = resolve(packageRoot, 'test/fixtures/models/fmnist_cnn.onnx');

/** The cnn fixture with its input renamed (`x`) and/or its batch fixed, as bytes. */
export function cnnVariant(options: { inputName?: string; batch?: number }): Uint8Array {
  const model = loadModel(CNN);
  const g = model.graph;
  const old = g.inputs[0]!.name;
  if (options.inputName) {
    g.inputs[0]!.name = options.inputName;
    for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === old ? options.inputName! : i));
  }
  if (options.batch !== undefined) {
    for (const v of [g.inputs[0]!, g.outputs[0]!]) {
      const shape = v.type!.tensorType!.shape!;
      shape[0] = options.batch;
    }
  }
  return serializeModel(model);
}

/** The simulator's kernel: out_j[b][k] = j + sum_e x_e * w(e, k), w(e, k) = ((7e + 13k) mod 17 - 8) / 16. */
export function reference(inputs: Float32Array[], rows: number, outputIndex: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let b = 0; b < rows; b++) {
    let e = 0;
    const sums = new Float64Array(width);
    for (const input of inputs) {
      const per = input.length / rows;
      for (let i = 0; i < per; i++, e++) {
        const x = input[b * per + i]!;
        for (let k = 0; k < width; k++) sums[k]! += x * ((((e * 7 + k * 13) % 17) - 8) / 16);
      }
    }
    for (let k = 0; k < width; k++) out[b * width + k] = outputIndex + sums[k]!;
  }
  return out;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(actual[i]! - e) / Math.max(1, Math.abs(e)));
  }
  expect(worst, `${what}: worst relative error`).toBeLessThan(1e-5);
}

/** Deterministic pseudo-random images: distinct per seed, so concurrent calls cannot hide cross-talk. */
export function images(rows: number, seed: number): Float32Array {
  const a = new Float32Array(rows * 784);
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

/** An async loader of `batches` batches of `rows` images each, for input `name`; `throwAt` makes batch n throw. */
export async function* loader(name: string, batches: number, rows: number, options: { throwAt?: number; delayMs?: number } = {}) {
  for (let i = 0; i < batches; i++) {
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    if (options.throwAt === i) throw new Error(`loader broke at batch ${i}`);
    yield { [name]: { data: images(rows, 1000 + i), dims: [rows, 1, 28, 28], dtype: 'float32' as const } };
  }
}
