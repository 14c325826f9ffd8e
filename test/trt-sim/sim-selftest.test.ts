// The TensorRT simulator proves its own checks: each self-test case runs a deliberately wrong sequence (or a right
// one with a known answer) against the simulator and must see it caught. A simulator whose checks never fire would
// make every test/trt-sim test meaningless.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/native/addon.js';

interface Finding { id: string; message: string }
interface SimAddon {
  trtSimConfigure(options: Record<string, unknown>): void;
  trtSimReset(): void;
  trtSimViolations(): Finding[];
  trtSimHazards(): Finding[];
  trtSimStats(): Record<string, number | boolean>;
  trtSimSelfTest(): { name: string; passed: boolean; detail: string }[];
}

// The test-only addon CMake builds next to the real one (TRTN_SIM_ADDON_PATH overrides it).
const simPath = process.env.TRTN_SIM_ADDON_PATH ?? resolve(packageRoot, 'build/sim/tensorrt_node_trtsim.node');

function loadSim(): SimAddon {
  if (!existsSync(simPath)) throw new Error(`the simulator addon is not built: ${simPath} (run npx cmake-js compile)`);
  return createRequire(import.meta.url)(simPath) as SimAddon;
}

describe('TensorRT simulator self-test', () => {
  it('catches every deliberately wrong sequence and reproduces the documented results', () => {
    const sim = loadSim();
    const results = sim.trtSimSelfTest();
    const failed = results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
    expect(failed).toEqual([]);
    const names = results.map((r) => r.name).join('\n');
    for (const check of ['profile -1', 'without tensor addresses', 'before stream synchronization', 'IProgressMonitor',
      'ICudaEngine destroyed', 'IRuntime destroyed', 'timing cache', 'calibration getBatch binding'])
      expect(names).toContain(check);
    // Each case that expects a violation reports the id it saw, naming the header and method.
    const seen = results.map((r) => r.detail).join('\n');
    expect(seen).toContain('NvInferRuntime.h/IExecutionContext::enqueueV3/profile-unset');
    expect(seen).toContain('NvInfer.h/IInt8Calibrator::getBatch/bindings');
  });

  it('leaves no trace: violations, hazards, live objects and device memory are as before', () => {
    const sim = loadSim();
    sim.trtSimReset();
    const before = sim.trtSimStats();
    sim.trtSimSelfTest();
    expect(sim.trtSimViolations()).toEqual([]);
    expect(sim.trtSimHazards()).toEqual([]);
    expect(sim.trtSimStats()).toEqual(before);
  });

  it('refuses unknown versions and misspelled options', () => {
    const sim = loadSim();
    expect(() => sim.trtSimConfigure({ version: '9.0' })).toThrow(/unknown version '9.0'/);
    expect(() => sim.trtSimConfigure({ faults: { parze: true } })).toThrow(/unknown option faults.parze/);
    expect(() => sim.trtSimConfigure({ streamDelayMs: -1 })).toThrow(/streamDelayMs must be a number >= 0/);
    sim.trtSimConfigure({ version: '10.16', faults: {} });
  });
});
