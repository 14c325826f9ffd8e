import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../lib/onnx/io.js';
import type { OnnxModel } from '../../lib/onnx/model.js';
import { synthetic } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import '../../lib/backends/onnxruntime/index.js'; // registers the statistics host calibration runs in
import { floatPrefixes, measurePlacement, type PlacementTimer } from '../../lib/quantize/placement.js';
import { attr, makeNode } from '../../lib/onnx/graph.js';
import { generateModernModel } from '../../lib/models/index.js';
import { planQdqForTarget } from '../../lib/onnx/qdq.js';
import { model, residualModel, seeded, weight } from './helpers.js';

/**
 * x[N,4,16,16] -> convA 3x3 -> Relu -> convB 1x1 -> Relu -> convC 3x3 (4 -> 32) -> Relu -> convD 3x3 (32 -> 32) -> Relu
 * -> GlobalAveragePool -> Flatten -> Gemm: a network whose first layers hold little of its compute.
 */
function stemChain(): OnnxModel {
  const rnd = seeded(11);
  const conv = (name: string, x: string, cin: number, cout: number, k: number) => [
    makeNode('Conv', [x, `w${name}`, `b${name}`], [name.toLowerCase()], { name: `conv${name}`, attributes: [attr.ints('kernel_shape', [k, k]), attr.ints('pads', Array(4).fill(k >> 1))] }),
    makeNode('Relu', [name.toLowerCase()], [`r${name.toLowerCase()}`], { name: `relu${name}` }),
  ];
  const w = (name: string, cin: number, cout: number, k: number) => [weight(`w${name}`, [cout, cin, k, k], rnd), weight(`b${name}`, [cout], rnd)];
  return model(
    [
      ...conv('A', 'x', 4, 4, 3),
      ...conv('B', 'ra', 4, 4, 1),
      ...conv('C', 'rb', 4, 32, 3),
      ...conv('D', 'rc', 32, 32, 3),
      makeNode('GlobalAveragePool', ['rd'], ['g'], { name: 'gap' }),
      makeNode('Flatten', ['g'], ['f'], { name: 'flatten' }),
      makeNode('Gemm', ['f', 'wf', 'bf'], ['logits'], { name: 'fc', attributes: [attr.int('transB', 1)] }),
    ],
    [...w('A', 4, 4, 3), ...w('B', 4, 4, 1), ...w('C', 4, 32, 3), ...w('D', 32, 32, 3), weight('wf', [10, 32], rnd), weight('bf', [10], rnd)],
    { name: 'x', dims: ['N', 4, 16, 16] },
    [{ name: 'logits', dims: ['N', 10] }],
  );
}

/**
 * A timer from a cost table instead of a clock: a compute node costs `int8` when its data input comes from a
 * DequantizeLinear, else `float`; every QuantizeLinear of an activation costs `q`. `noise(call)` perturbs a figure.
 */
function costTimer(costs: Record<string, { int8: number; float: number }>, q = 0.1, noise: (call: number) => number = () => 0): { timer: PlacementTimer; opened: OnnxModel[] } {
  const opened: OnnxModel[] = [];
  let calls = 0;
  const timer: PlacementTimer = async (candidate) => {
    opened.push(candidate);
    const producer = new Map(candidate.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    let ms = 0;
    for (const n of candidate.graph.nodes) {
      const c = costs[n.name];
      if (c) ms += producer.get(n.inputs[0]!)?.opType === 'DequantizeLinear' ? c.int8 : c.float;
      if (n.opType === 'QuantizeLinear' && producer.has(n.inputs[0]!)) ms += q;
    }
    return { time: async () => ms + noise(calls++), release: async () => {} };
  };
  return { timer, opened };
}

const quantizeOps = (m: OnnxModel) => m.graph.nodes.filter((n) => n.opType === 'QuantizeLinear').length;

describe('measured placement (lib/quantize/placement.ts)', () => {
  const m = residualModel();

  it('keeps float the region that times faster in float and int8 the others, each decision with its two times', async () => {
    const { timer } = costTimer({ conv1: { int8: 5, float: 2 }, conv2: { int8: 1, float: 4 }, fc: { int8: 1, float: 1.2 } });
    const { keepFloat, report } = await measurePlacement(m, {}, { timer, rounds: 2, patience: 10 });
    expect(keepFloat.map((k) => k.node)).toEqual(['conv1']);
    expect(keepFloat[0]!.reason).toMatch(/^measured faster in float: \d+\.\d\d ms vs \d+\.\d\d ms with it on int8 \(whole model, batch 64, default threads\)$/);
    expect(report.decisions.map((d) => [d.node, d.choice])).toEqual(expect.arrayContaining([['conv1', 'float'], ['conv2', 'int8'], ['fc', 'int8']]));
    const d1 = report.decisions.find((d) => d.node === 'conv1')!;
    expect(d1.floatMs).toBeLessThan(d1.int8Ms);
    // the margin that decided, per round: float time / int8 time (every round below 1 - margin for a float region)
    expect(d1.floatOverInt8).toHaveLength(2);
    expect(d1.floatOverInt8.every((v) => v < 0.97)).toBe(true);
    expect(report.decisions.find((d) => d.node === 'conv2')!.floatOverInt8.every((v) => v > 1)).toBe(true);
    expect(report.fp32OverRules).toHaveLength(2);
    expect(report.chosenMs).toBeLessThan(report.rulesMs);
    expect(report.unmeasured).toEqual([]);
    expect(report.summary).toMatch(/1 of 3 regions kept float/);
  });

  it('drops every Q/DQ when int8 is slower everywhere (the model cannot gain on this CPU)', async () => {
    const { timer, opened } = costTimer({ conv1: { int8: 3, float: 1 }, conv2: { int8: 3, float: 1 }, fc: { int8: 3, float: 1 } }, 0.5);
    const { keepFloat, report } = await measurePlacement(m, {}, { timer, rounds: 1, patience: 1 });
    expect(keepFloat.map((k) => k.node).sort()).toEqual(['conv1', 'conv2', 'fc']);
    expect(report.chosenMs).toBeCloseTo(3, 5);
    expect(opened.filter((o) => quantizeOps(o) === 0)).toHaveLength(2); // the FP32 model and the all-float placement
  });

  it('keeps no Q/DQ when int8 only ties with float: the result can never be slower than FP32', async () => {
    const { timer } = costTimer({ conv1: { int8: 1, float: 1 }, conv2: { int8: 1, float: 1 }, fc: { int8: 0.99, float: 1 } }, 0);
    const { keepFloat, report } = await measurePlacement(m, {}, { timer, rounds: 2, patience: 10 });
    expect(keepFloat.map((k) => k.node).sort()).toEqual(['conv1', 'conv2', 'fc']);
    expect(keepFloat[0]!.reason).toMatch(/^int8 not measured faster than float for the whole model in every round: 2\.99 ms with int8 regions vs 3\.00 ms all float/);
    expect(report.summary).toMatch(/3 of 3 regions kept float/);
  });

  it('does not take a region float on a figure that wins only some rounds', async () => {
    // conv1 float is 10% faster in even calls only: a noisy machine
    const { timer } = costTimer({ conv1: { int8: 2, float: 2 }, conv2: { int8: 1, float: 4 }, fc: { int8: 1, float: 4 } }, 0.1, (call) => (call % 4 === 1 ? -1 : 0));
    const { keepFloat, report } = await measurePlacement(m, {}, { timer, rounds: 3, patience: 10 });
    expect(keepFloat).toEqual([]);
    expect(report.decisions.every((d) => d.choice === 'int8')).toBe(true);
  });

  it('decides within-noise regions by a fixed rule: builds under different noise give the same placement, each decision with its margin', async () => {
    // conv2 and fc differ by at most 1% between int8 and float (inside the 3% margin), conv1 is clearly faster on int8;
    // every figure carries fresh random noise of up to +-0.75%, different in each build
    const costs = { conv1: { int8: 1, float: 4 }, conv2: { int8: 2, float: 1.96 }, fc: { int8: 1, float: 0.99 } };
    const jitter = () => (Math.random() - 0.5) * 0.06;
    const placements: string[][] = [];
    for (let build = 0; build < 3; build++) {
      const { keepFloat, report } = await measurePlacement(m, {}, { timer: costTimer(costs, 0, jitter).timer, rounds: 3, patience: 10 });
      placements.push(keepFloat.map((k) => k.node));
      const by = new Map(report.decisions.map((d) => [d.node, d]));
      expect([...by.values()].map((d) => [d.node, d.choice, d.decidedBy]).sort()).toEqual([['conv1', 'int8', 'measured'], ['conv2', 'int8', 'within noise'], ['fc', 'int8', 'within noise']]);
      for (const d of by.values()) expect(d.floatOverInt8).toHaveLength(3);
      expect(by.get('conv1')!.floatOverInt8.every((v) => v > 1.03)).toBe(true);
      expect(report.allFloatOverInt8!.every((v) => v > 1.03)).toBe(true);
    }
    expect(placements).toEqual([[], [], []]);
    // the whole model within noise of all-float falls to float, in every build
    const tie = { conv1: { int8: 1, float: 1 }, conv2: { int8: 1, float: 1 }, fc: { int8: 1, float: 1 } };
    for (let build = 0; build < 2; build++) {
      const { keepFloat, report } = await measurePlacement(m, {}, { timer: costTimer(tie, 0, jitter).timer, rounds: 3, patience: 10 });
      expect(keepFloat.map((k) => k.node).sort()).toEqual(['conv1', 'conv2', 'fc']);
      expect(report.decisions.every((d) => d.choice === 'float' && d.decidedBy === 'within noise')).toBe(true);
    }
  });

  it('stops after `patience` regions in a row that win on int8, and lists those not timed', async () => {
    const { timer } = costTimer({ conv1: { int8: 1, float: 4 }, conv2: { int8: 1, float: 4 }, fc: { int8: 1, float: 4 } });
    const { report } = await measurePlacement(m, {}, { timer, rounds: 1, patience: 1 });
    expect(report.decisions).toHaveLength(1);
    expect(report.unmeasured).toHaveLength(2);
    expect(report.unmeasured[0]!.reason).toMatch(/not timed \(1 smaller regions in a row were faster on int8\); kept int8/);
  });

  it("'auto' searches only when the rules placement is not clearly faster than FP32", async () => {
    const fast = costTimer({ conv1: { int8: 1, float: 4 }, conv2: { int8: 1, float: 4 }, fc: { int8: 1, float: 4 } });
    const kept = await measurePlacement(m, {}, { timer: fast.timer, rounds: 2, searchBelowSpeedup: 1.1 });
    expect(kept.report.mode).toBe('auto');
    expect(kept.report.decisions).toEqual([]);
    expect(kept.report.unmeasured.map((u) => u.reason)).toEqual(Array(3).fill('not timed (the rules placement ran at least 1.1x faster than FP32 in every round of two sessions); kept int8'));
    expect(kept.report.summary).toMatch(/^rules placement kept/);
    expect(fast.opened).toHaveLength(3); // FP32 and the rules placement, in two sessions
    expect(quantizeOps(fast.opened[2]!)).toBe(quantizeOps(fast.opened[1]!));
    const even = costTimer({ conv1: { int8: 5, float: 2 }, conv2: { int8: 1, float: 2.5 }, fc: { int8: 1, float: 1.2 } });
    const searched = await measurePlacement(m, {}, { timer: even.timer, rounds: 2, patience: 10, searchBelowSpeedup: 1.1 });
    expect(searched.keepFloat.map((k) => k.node)).toEqual(['conv1']);
  });

  it("'auto' keeps the rules placement only when a second, fresh session of it is faster too", async () => {
    // int8 everywhere is 4x faster, but the second session opened for the all-int8 model runs 10x slower (an ORT session
    // that lands on slow kernels): the first session alone would have kept it.
    const costs = { conv1: { int8: 1, float: 4 }, conv2: { int8: 1, float: 4 }, fc: { int8: 1, float: 4 } };
    const inner = costTimer(costs);
    let allInt8Opened = 0;
    const bimodal: PlacementTimer = async (candidate, o) => {
      const t = await inner.timer(candidate, o);
      const allInt8 = o.int8 && quantizeOps(candidate) === quantizeOps(inner.opened[1] ?? candidate);
      const slow = allInt8 && ++allInt8Opened === 2 ? 10 : 1;
      return { time: async () => slow * (await t.time()), release: t.release };
    };
    const r = await measurePlacement(m, {}, { timer: bimodal, rounds: 2, patience: 10, searchBelowSpeedup: 1.1 });
    expect(r.report.summary).toMatch(/^measured/);
    expect(r.report.decisions.length).toBeGreaterThan(0);
    const steady = await measurePlacement(m, {}, { timer: costTimer(costs).timer, rounds: 2, patience: 10, searchBelowSpeedup: 1.1 });
    expect(steady.report.summary).toMatch(/^rules placement kept/);
  });

  it('keeps int8 against the FP32 model only when two measurements agree (FP32 timed even first, slower later: float)', async () => {
    // int8 and float tie region by region; the FP32 reference session slows down by 30% after its first two timings
    // (the machine changed state during the build), so only the final comparison would show int8 faster
    const costs = { conv1: { int8: 1, float: 1 }, conv2: { int8: 1, float: 1 }, fc: { int8: 1, float: 1 } };
    const drifting = (slowdown: number): PlacementTimer => {
      const inner = costTimer(costs, 0).timer;
      let fp32Calls = 0;
      return async (candidate, o) => {
        const t = await inner(candidate, o);
        const isReference = candidate === m;
        return { time: async () => (await t.time()) * (isReference && ++fp32Calls > 2 ? slowdown : 1), release: t.release };
      };
    };
    const r = await measurePlacement(m, {}, { timer: drifting(1.3), rounds: 2, patience: 10, searchBelowSpeedup: 1.1, reference: m });
    expect(r.keepFloat.map((k) => k.node).sort()).toEqual(['conv1', 'conv2', 'fc']);
    expect(r.keepFloat[0]!.reason).toMatch(/^int8 not measured faster than float for the whole model in every round of two measurements/);
    // when int8 is faster in both measurements, it stays
    const faster = { conv1: { int8: 0.9, float: 1 }, conv2: { int8: 0.9, float: 1 }, fc: { int8: 0.9, float: 1 } };
    const kept = await measurePlacement(m, {}, { timer: costTimer(faster, 0).timer, rounds: 2, patience: 10, searchBelowSpeedup: 1.2, reference: m });
    expect(kept.keepFloat).toEqual([]);
    expect(kept.report.summary).toMatch(/^measured .*0 of 3 regions kept float/);
  });

  it('float prefixes: the regions before each cut of the graph one tensor crosses, within the compute share', () => {
    const chain = stemChain();
    const regions = ['convA', 'convB', 'convC', 'convD', 'fc'];
    const macs = new Map([['convA', 144], ['convB', 16], ['convC', 1152], ['convD', 9216], ['fc', 320]]);
    // the last cut before each next region: the tensor the first int8 region reads
    expect(floatPrefixes(chain, regions, macs, 0.25)).toEqual([
      { regions: ['convA'], boundary: 'ra' },
      { regions: ['convA', 'convB'], boundary: 'rb' },
      { regions: ['convA', 'convB', 'convC'], boundary: 'rc' },
    ]);
    expect(floatPrefixes(chain, regions, macs, 0.01)).toEqual([]); // convA alone holds more than 1%
    // MobileNetV2: features.3 adds its input back, so no cut falls inside it: the prefix ends after the Add or before the block
    const mv2 = generateModernModel('mobilenet_v2', { inputShape: [3, 64, 64], classes: 10, seed: 1 });
    const quantized = planQdqForTarget(mv2, { target: 'onnxruntime' }).plan.report.quantized.map((e) => e.node);
    const prefixes = floatPrefixes(mv2, quantized, new Map(quantized.map((r) => [r, 1])), 0.25);
    expect(prefixes.map((p) => p.boundary).slice(0, 6)).toEqual([
      'features.1.dw.relu6.out', 'features.1.project.bn.out', 'features.2.expand.relu6.out', 'features.2.dw.relu6.out', 'features.2.project.bn.out', 'features.3.add',
    ]);
    expect(prefixes.every((p, i) => i === 0 || p.regions.length > prefixes[i - 1]!.regions.length)).toBe(true);
    expect(prefixes.at(-1)!.regions.length).toBeLessThanOrEqual(quantized.length * 0.25);
  });

  it("'auto' takes a float prefix measured faster even when the rules placement is clearly faster than FP32", async () => {
    const chain = stemChain();
    // convA loses on int8 (its uint8 layout change of a full-resolution tensor); the rest wins
    const costs = { convA: { int8: 3, float: 1 }, convB: { int8: 0.5, float: 0.55 }, convC: { int8: 1, float: 4 }, convD: { int8: 2, float: 8 }, fc: { int8: 1, float: 1.2 } };
    const { timer, opened } = costTimer(costs, 0.1);
    const r = await measurePlacement(chain, {}, { timer, rounds: 2, searchBelowSpeedup: 1.1 });
    expect(r.keepFloat.map((k) => k.node)).toEqual(['convA']);
    expect(r.keepFloat[0]!.reason).toMatch(/^float prefix: int8 starting at 'ra' measured faster, \d+\.\d\d ms vs \d+\.\d\d ms starting earlier \(whole model, batch 64, default threads\)$/);
    const d = r.report.decisions.find((x) => x.node === 'convA')!;
    expect(d.floatOverInt8).toHaveLength(4); // prefixes are timed in two rounds more than regions
    expect(d.floatOverInt8.every((v) => v < 0.97)).toBe(true);
    expect(r.report.summary).toMatch(/^int8 starts at 'ra' \(a float prefix of 1 region measured faster\); .* so no region search$/);
    // FP32, rules, the three prefixes (the 2nd and 3rd not faster than the 1st), the chosen one in a fresh session against
    // FP32, and the rules placement again for the final confirmation
    expect(opened).toHaveLength(7);
    expect(r.report.unmeasured.map((u) => u.node).sort()).toEqual(['convB', 'convC', 'convD', 'fc']);
    // every prefix timed is in the report, taken or not, with its per-round ratios
    expect(r.report.prefixes.map((p) => [p.boundary, p.regions, p.taken, p.floatOverInt8.length])).toEqual([
      ['ra', 1, true, 4],
      ['rb', 2, false, 4],
      ['rc', 3, false, 4],
    ]);
    expect(r.report.prefixes[2]!.floatOverInt8.every((v) => v > 1)).toBe(true); // convC float is slower
    // a prefix that wins only some rounds is not taken: the first prefix's session runs slow in its third round, so the
    // step goes on to the next prefix, which wins every round
    const inner = costTimer(costs, 0.1);
    const flaky: PlacementTimer = async (candidate, o) => {
      const t = await inner.timer(candidate, o);
      const first = inner.opened.length === 3;
      let calls = 0;
      return { time: async () => (await t.time()) + (first && ++calls === 3 ? 2 : 0), release: t.release };
    };
    const kept = await measurePlacement(chain, {}, { timer: flaky, rounds: 2, searchBelowSpeedup: 1.1 });
    expect(kept.keepFloat.map((k) => k.node)).toEqual(['convA', 'convB']);
    expect(kept.keepFloat[0]!.reason).toMatch(/^float prefix: int8 starting at 'rb'/);
    // 'measured': the region search goes on from the prefix, over the regions outside it. fc is slow on int8; in the
    // cost table an op runs int8 when its input comes from a DequantizeLinear, so what makes fc float is convD float
    // (convD's own input still comes dequantized: its cost stays)
    const both = costTimer({ ...costs, fc: { int8: 3, float: 1 } }, 0.1);
    const searched = await measurePlacement(chain, {}, { timer: both.timer, rounds: 2, patience: 10 });
    expect(searched.keepFloat.map((k) => k.node)).toEqual(['convA', 'convD']);
    expect(searched.keepFloat[1]!.reason).toMatch(/^measured faster in float/);
    expect(searched.report.decisions.filter((x) => x.node === 'convA')).toHaveLength(1);
    expect(searched.report.summary).toMatch(/^measured \(batch 64, default threads, \d+ s\): int8 starts at 'ra' \(a float prefix of 1 region measured faster\); 2 of 5 regions kept float/);
    // the final check against a fresh session of the rules placement undoes a prefix that session beats
    const base = costTimer(costs, 0.1);
    const fastRules: PlacementTimer = async (candidate, o) => {
      const t = await base.timer(candidate, o);
      const rulesAgain = base.opened.length === 7;
      return { time: async () => (await t.time()) * (rulesAgain ? 0.5 : 1), release: t.release };
    };
    const undone = await measurePlacement(chain, {}, { timer: fastRules, rounds: 2, searchBelowSpeedup: 1.1 });
    expect(undone.keepFloat).toEqual([]);
    expect(undone.report.prefixes.map((p) => p.taken)).toEqual([false, false, false]);
    expect(undone.report.decisions.find((d) => d.node === 'convA')).toMatchObject({ choice: 'int8', decidedBy: 'within noise' });
    expect(undone.report.decisions.find((d) => d.node === 'convA')!.reason).toBeUndefined();
    expect(undone.report.summary).toMatch(/^rules placement kept/);
    // prefixes: 0 turns the step off
    const off = await measurePlacement(chain, {}, { timer: costTimer(costs, 0.1).timer, rounds: 2, searchBelowSpeedup: 1.1, prefixes: 0 });
    expect(off.keepFloat).toEqual([]);
  });

  it('quantizeModel with placement measured lists the measured float regions in the report and calibrates what they need', async () => {
    const { timer } = costTimer({ conv1: { int8: 5, float: 2 }, conv2: { int8: 1, float: 4 }, fc: { int8: 1, float: 1.2 } });
    const data = synthetic({ shape: [4, 8, 8], count: 16, seed: 3 });
    const q = await quantizeModel(m, { precision: 'int8', data, algorithm: 'minmax', batchSize: 8, placement: 'measured', measure: { timer, rounds: 2, patience: 10 } });
    expect(q.report.placement!.decisions.find((d) => d.node === 'conv1')!.choice).toBe('float');
    expect(q.report.qdq!.float).toContainEqual({ node: 'conv1', opType: 'Conv', reason: expect.stringMatching(/^measured faster in float/) });
    expect(q.report.qdq!.quantized.map((e) => e.node)).toEqual(['conv2', 'fc']);
    expect(q.report.path).toMatch(/\[measured placement: 1 of 3 regions float\]$/);
    // conv2 now reads relu1's output quantized on its own scale (calibrated, not a placeholder)
    expect([...q.scales.keys()].sort()).toEqual(['c2', 'g', 'r1', 'r2']);
    // every region float: nothing to calibrate, no Q/DQ left
    const slow = costTimer({ conv1: { int8: 3, float: 1 }, conv2: { int8: 3, float: 1 }, fc: { int8: 3, float: 1 } });
    const none = await quantizeModel(m, { precision: 'int8', data, placement: 'measured', measure: { timer: slow.timer, rounds: 1 } });
    expect(none.scales.size).toBe(0);
    expect(quantizeOps(none.model)).toBe(0);
    expect(none.report.qdq!.quantized).toEqual([]);
    // labelled as what it is, with a warning
    expect(none.report.path).toMatch(/^fp32 \(int8 requested, no layer kept on int8: measured \(batch 64, default threads, \d+ s\): 3 of 3 regions kept float; /);
    expect(none.report.warnings).toEqual([expect.stringMatching(/^int8 was requested but the model keeps no Q\/DQ and runs in float: measured/)]);
    // a requested cache is written even so, complete for the rules placement: a later build can place int8 anywhere
    const cache = join(mkdtempSync(join(tmpdir(), 'placement-')), 'all-float.cache');
    const warned: string[] = [];
    const noneCached = await quantizeModel(m, { precision: 'int8', data, cache, placement: 'measured', measure: { timer: slow.timer, rounds: 1 }, logger: (sev, msg) => warned.push(`${sev}: ${msg}`) });
    expect(quantizeOps(noneCached.model)).toBe(0);
    expect(warned).toEqual([expect.stringMatching(/^warning: int8 was requested but the model keeps no Q\/DQ/)]);
    expect(existsSync(cache)).toBe(true);
    const fromCache = await quantizeModel(m, { precision: 'int8', cache, placement: 'rules' });
    expect(fromCache.report.scalesFrom).toBe('cache');
    expect(fromCache.report.qdq!.quantized.map((e) => e.node)).toEqual(['conv1', 'conv2', 'fc']);
    await expect(quantizeModel(m, { precision: 'int8', data, placement: 'measured', target: 'tensorrt' })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    await expect(quantizeModel(m, { precision: 'int8', data, placement: 'fastest' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  it('times real ONNX Runtime sessions on the cnn fixture and reports every region (no timing asserted)', async () => {
    const cnn = loadModel('test/fixtures/models/fmnist_cnn.onnx');
    const { keepFloat, report } = await measurePlacement(cnn, {}, { rounds: 1, iterations: 2, batchSize: 8, intraOpThreads: 1 });
    expect(report.decisions.length + report.unmeasured.length).toBe(3); // conv2 and the two Gemms
    for (const d of report.decisions) expect(d.int8Ms > 0 && d.floatMs > 0).toBe(true);
    expect(report.fp32Ms).toBeGreaterThan(0);
    for (const k of keepFloat) expect(report.decisions.find((d) => d.node === k.node)?.choice).toBe('float');
  });
});
