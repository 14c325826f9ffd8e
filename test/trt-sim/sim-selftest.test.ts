// The TensorRT simulator proves its own checks: each self-test case runs a deliberately wrong sequence (or a right
// one with a known answer) against the simulator and must see it caught. A simulator whose checks never fire would
// make every other test/trt-sim test meaningless.
import { describe, expect, it } from 'vitest';
import { sim, type SimAddon } from './simulator.js';

type SelfTesting = SimAddon & { trtSimSelfTest(): { name: string; passed: boolean; detail: string }[] };
const simulator = () => sim() as SelfTesting;

describe('TensorRT simulator self-test', () => {
  it('catches every deliberately wrong sequence and reproduces the documented results', () => {
    const results = simulator().trtSimSelfTest();
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
    const s = simulator();
    s.trtSimReset();
    const before = s.trtSimStats();
    s.trtSimSelfTest();
    expect(s.trtSimViolations()).toEqual([]);
    expect(s.trtSimHazards()).toEqual([]);
    expect(s.trtSimStats()).toEqual(before);
  });

  it('refuses unknown versions and misspelled options', () => {
    const s = simulator();
    expect(() => s.trtSimConfigure({ version: '9.0' as never })).toThrow(/unknown version '9.0'/);
    expect(() => s.trtSimConfigure({ faults: { parze: true } as never })).toThrow(/unknown option faults.parze/);
    expect(() => s.trtSimConfigure({ streamDelayMs: -1 })).toThrow(/streamDelayMs must be a number >= 0/);
    s.trtSimConfigure({ version: '10.16', faults: {} });
  });
});
