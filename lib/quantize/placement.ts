/**
 * Measured int8 placement for ONNX Runtime, in the manner of TensorRT's builder timing its tactics: the rules of
 * lib/onnx/qdq.ts decide where Q/DQ can go; this decides, by timing on this machine, which quantizable regions
 * are worth running on int8. A region is one quantizable compute op (Conv, Gemm, MatMul, ...) with the ops whose
 * int8-ness follows from it (its Relu, pooling, reshapes); keeping it float moves the int8/float boundary.
 *
 * Search: time the FP32 model and the rules placement; then float prefixes (see floatPrefixes): the int8 part of the
 * model starts at a later cut of the graph, each candidate, smallest first, taken when it beats the best placement so
 * far by `margin` in every round. Early layers at full resolution with few channels often lose on int8: ONNX Runtime's uint8 layout Transpose
 * of a large tensor, a depthwise convolution of 16 channels, a squeeze-excitation Mul broadcasting over 16 channels;
 * a later start moves the float-to-int8 boundary to a smaller tensor. Then, from the region with the least compute up, time the
 * current placement against the same placement with that region float, whole model against whole model (so the
 * boundary costs a float region adds, a QuantizeLinear, layout transposes, are in the figure); keep the region float
 * only when that is faster by `margin` in every round, and confirm the result against the rules placement. Finally
 * the all-float placement (the FP32 model itself) is timed against the result, and int8 is kept only when it is
 * faster by `margin` in every round: a model that cannot gain from int8 kernels on this CPU keeps no Q/DQ at all. Rounds alternate
 * the two models, so machine load hits both alike. Scales do not change the speed of the integer kernels, so the search runs before
 * calibration with placeholder scales, and calibration then collects exactly what the chosen placement needs.
 * Every region left float is reported with the two measured times.
 */
import { asTrtnError, TrtnError } from '../errors.js';
import { inferredShapes } from '../onnx/check.js';
import { feedInputs, findInitializer, topologicalSort } from '../onnx/graph.js';
import { serializeModel } from '../onnx/io.js';
import type { OnnxModel } from '../onnx/model.js';
import type { TensorData } from '../engine/types.js';
import { WorkerSession } from '../backends/onnxruntime/session.js';
import { insertQdq, ORT_DISABLED_OPTIMIZERS, planQdqForTarget, type QdqOptions, type QdqPlan } from '../onnx/qdq.js';
import { ortLogSeverity } from '../backends/onnxruntime/session.js';

export interface MeasuredPlacementOptions {
  /** Rows of the timed batch (default 64). */
  batchSize?: number;
  /** Intra-op threads of the timing sessions (default: ONNX Runtime's default, as an engine built without them). */
  intraOpThreads?: number;
  /** Alternating rounds per comparison (default 3). */
  rounds?: number;
  /** Timed runs per model and round (default 10, after 2 warm-up runs). */
  iterations?: number;
  /** A region is kept float only when that makes the model at least this fraction faster (default 0.03). */
  margin?: number;
  /** Wall-clock seconds for the per-region search (default 120); regions not reached stay int8 and are listed. */
  budgetSeconds?: number;
  /** Stop after this many regions in a row measured faster on int8 (default 4): larger ones follow. */
  patience?: number;
  /** How candidates are timed (default ortTimer: ONNX Runtime sessions on this machine). */
  timer?: PlacementTimer;
  /**
   * Search regions only when the rules placement is not at least this many times faster than FP32 in every round, in
   * each of two sessions (placement 'auto' passes 1.1); default: always search.
   */
  searchBelowSpeedup?: number;
  /**
   * The FP32 model to time against, and the all-float placement, when `model` was rewritten for int8 in a way that
   * is slower in float (HardSwish decomposed into four ops ORT does not fuse into a float Conv); default `model`.
   */
  reference?: OnnxModel;
  /**
   * Float prefixes tried before the per-region search (default 4; 0: none), in both modes: each starts the int8 part
   * at a later cut of the graph, within the first `prefixShare` of the regions' compute.
   */
  prefixes?: number;
  /** Share of the regions' compute a float prefix may hold (default 0.25). */
  prefixShare?: number;
}

export interface PlacementDecision {
  node: string;
  opType: string;
  choice: 'int8' | 'float';
  /** Median whole-model latency (ms) with the region on int8 and with it float, same batch. */
  int8Ms: number;
  floatMs: number;
  /** Why it is float when not its own timing (a float prefix, the all-float placement). */
  reason?: string;
  /** The measured margin that decided: per round, float time / int8 time (> 1: int8 faster that round). */
  floatOverInt8: number[];
  /**
   * 'measured': every round beyond the margin on the side chosen. 'within noise': the rounds did not agree beyond
   * the margin, and the fixed rule chose (a region stays int8, as the rules placement has it; the whole-model check
   * falls to float, never slower than FP32), so repeated builds on a quiet machine give the same placement.
   */
  decidedBy: 'measured' | 'within noise';
}

export interface PlacementReport {
  /** 'auto': the region search ran only if the rules placement was not clearly faster than FP32. */
  mode: 'measured' | 'auto';
  batch: number;
  /** Intra-op threads of the timing sessions; null: ONNX Runtime's default. */
  threads: number | null;
  /** Median latency (ms) of the FP32 model, of the rules placement and of the chosen placement. */
  fp32Ms: number;
  rulesMs: number;
  /** Per round, FP32 time / rules-placement time (the 'auto' decision to search regions or not). */
  fp32OverRules: number[];
  /** The whole-model check against the all-float placement, when it ran: per round, all-float time / int8 time. */
  allFloatOverInt8?: number[];
  chosenMs: number;
  decisions: PlacementDecision[];
  /** Regions not timed (budget or patience reached, or a scale missing from the cache), kept int8. */
  unmeasured: { node: string; reason: string }[];
  /**
   * Every float prefix timed, taken or not: where int8 would start, how many regions the prefix holds, and per round
   * the time with the prefix float over the best placement before it (< 1: the prefix faster that round). `taken`:
   * in the placement chosen (false too when the final check against the rules placement undid it).
   */
  prefixes: { boundary: string; regions: number; floatOverInt8: number[]; taken: boolean }[];
  seconds: number;
  summary: string;
}

export interface PlacementResult {
  /** Nodes to keep float, each with the measured reason (QdqOptions.keepFloat). */
  keepFloat: { node: string; reason: string }[];
  report: PlacementReport;
}

/** One candidate model ready to time: time() runs it and returns one figure in ms (lower is faster). */
export interface PlacementTiming {
  time(): Promise<number>;
  release(): Promise<void>;
}

/** Opens a candidate (the FP32 model, or a Q/DQ placement with int8 true) for timing. */
export type PlacementTimer = (candidate: OnnxModel, info: { int8: boolean }) => Promise<PlacementTiming>;

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Per-image multiply-accumulates of each compute node (output elements x reduction), from shape inference. */
function computeCost(model: OnnxModel, nodes: string[]): Map<string, number> {
  const shapes = inferredShapes(model);
  const cost = new Map<string, number>();
  for (const node of model.graph.nodes) {
    if (!nodes.includes(node.name)) continue;
    const w = findInitializer(model.graph, node.inputs[1] ?? '');
    const wElems = w ? w.dims.reduce((a, b) => a * b, 1) : 0;
    const out = shapes?.get(node.outputs[0] ?? '')?.shape;
    const outElems = out && out.slice(1).every((d) => typeof d === 'number') ? (out.slice(1) as number[]).reduce((a, b) => a * b, 1) : undefined;
    const channels = node.opType === 'Conv' ? (w?.dims[0] ?? 1) : node.opType === 'ConvTranspose' ? (w?.dims[1] ?? 1) : (out?.[out.length - 1] as number | undefined) ?? 1;
    cost.set(node.name, outElems !== undefined ? (outElems * wElems) / Math.max(1, channels) : wElems);
  }
  return cost;
}

/**
 * Float-prefix candidates: for each cut of the graph (a point in topological order that exactly one activation tensor
 * crosses, as between two blocks with no skip connection over the point), the regions before it, smallest prefix
 * first, while they hold at most `share` of the regions' compute. `boundary`: the tensor crossing the last such cut,
 * the one the first int8 region reads.
 */
export function floatPrefixes(model: OnnxModel, regions: readonly string[], cost: ReadonlyMap<string, number>, share: number): { regions: string[]; boundary: string }[] {
  const nodes = topologicalSort(model.graph);
  const constant = new Set(model.graph.initializers.map((t) => t.name));
  const born = new Map<string, number>(); // activation tensor -> index of its producer (-1: a graph input)
  for (const v of model.graph.inputs) if (!constant.has(v.name)) born.set(v.name, -1);
  nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o && n.opType !== 'Constant') born.set(o, i);
  });
  const last = new Map<string, number>(); // -> index of its last reader (nodes.length: a graph output)
  nodes.forEach((n, i) => {
    for (const t of n.inputs) if (born.has(t)) last.set(t, i);
  });
  for (const o of model.graph.outputs) last.set(o.name, nodes.length);
  const isRegion = new Set(regions);
  const total = regions.reduce((a, r) => a + (cost.get(r) ?? 0), 0);
  const out: { regions: string[]; boundary: string }[] = [];
  const prefix: string[] = [];
  let spent = 0;
  for (let i = 0; i < nodes.length; i++) {
    const name = nodes[i]!.name;
    if (isRegion.has(name)) {
      prefix.push(name);
      spent += cost.get(name) ?? 0;
      if (spent > share * total || prefix.length === regions.length) break;
    }
    if (prefix.length === 0) continue;
    const crossing: string[] = [];
    for (const [t, b] of born) if (b <= i && (last.get(t) ?? -1) > i) crossing.push(t);
    if (crossing.length !== 1) continue;
    // Of the cuts before the same regions, the last: the tensor the first int8 region reads.
    if (out.at(-1)?.regions.length === prefix.length) out.at(-1)!.boundary = crossing[0]!;
    else out.push({ regions: [...prefix], boundary: crossing[0]! });
  }
  return out;
}

/** The timing input: a batch from the model's static input shape, values in [0, 1). */
function timingFeed(model: OnnxModel, batch: number): { name: string; tensor: TensorData } {
  const inputs = feedInputs(model.graph);
  if (inputs.length !== 1) throw new TrtnError('ERR_ONNX_MODEL', `measured placement needs a model with one input; this one has ${inputs.length}`);
  const v = inputs[0]!;
  const shape = v.type?.tensorType?.shape;
  const rest = shape?.slice(1);
  if (!shape || !rest!.every((d) => typeof d === 'number' && d > 0))
    throw new TrtnError('ERR_ONNX_MODEL', `measured placement needs a static input shape apart from the batch dimension; input '${v.name}' has [${(shape ?? []).join(',')}]`, { tensor: v.name });
  const dims = [batch, ...(rest as number[])];
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s / 4294967296;
  }
  return { name: v.name, tensor: { data, dims, dtype: 'float32' } };
}

/**
 * The default timer: an ONNX Runtime session per candidate in a worker (WorkerSession: the event loop of an int8
 * build stays free, as the README promises), graph optimizations 'all', `threads` intra-op threads, the Q/DQ models
 * with ORT_DISABLED_OPTIMIZERS off as the backend runs them; one figure is the lower quartile of `iterations` runs
 * timed inside the worker after 2 warm-up runs, i.e. what the model takes when the machine lets it run (load only
 * adds).
 */
export function ortTimer(model: OnnxModel, batch: number, threads: number | undefined, iterations: number): PlacementTimer {
  const feed = timingFeed(model, batch);
  const feeds = { [feed.name]: feed.tensor };
  return async (candidate, { int8 }) => {
    let session: WorkerSession;
    try {
      session = await WorkerSession.open(serializeModel(candidate), {
        graphOptimization: 'all',
        ...(threads ? { intraOpThreads: threads } : {}),
        interOpThreads: 1,
        ...(int8 ? { disabledOptimizers: ORT_DISABLED_OPTIMIZERS } : {}),
      });
    } catch (err) {
      throw asTrtnError(err, 'ERR_ONNX_PARSE', 'ONNX Runtime rejected a placement candidate');
    }
    return {
      async time() {
        const times = Array.from(await session.bench(feeds, 2, iterations)).sort((x, y) => x - y);
        return times[Math.floor((times.length - 1) / 4)]!;
      },
      release: () => session.close(),
    };
  };
}

/**
 * Time candidate placements of `model` (BatchNorm already folded) and return the regions to keep float.
 * `feasible` can rule out placements (e.g. needing a scale a calibration cache lacks).
 */
export async function measurePlacement(
  model: OnnxModel,
  qdq: QdqOptions,
  options: MeasuredPlacementOptions & { feasible?: (plan: QdqPlan) => string | undefined; signal?: AbortSignal } = {},
): Promise<PlacementResult> {
  if ((qdq.target ?? 'onnxruntime') !== 'onnxruntime') throw new TrtnError('ERR_UNSUPPORTED', "measured placement times ONNX Runtime sessions; it applies to target 'onnxruntime' only");
  const start = performance.now();
  const batch = options.batchSize ?? 64;
  const threads = options.intraOpThreads;
  const setting = `batch ${batch}, ${threads ? `${threads} threads` : 'default threads'}`;
  const rounds = options.rounds ?? 3;
  const iterations = options.iterations ?? 10;
  const margin = options.margin ?? 0.03;
  const budget = (options.budgetSeconds ?? 120) * 1000;
  const patience = options.patience ?? 4;
  const timer = options.timer ?? ortTimer(model, batch, threads, iterations);

  const sessions = new Map<string, PlacementTiming>();
  const open = async (key: string, candidate: OnnxModel, int8: boolean): Promise<PlacementTiming> => {
    let t = sessions.get(key);
    if (!t) {
      t = await timer(candidate, { int8 });
      sessions.set(key, t);
    }
    return t;
  };
  const release = async (key: string) => {
    const t = sessions.get(key);
    sessions.delete(key);
    await t?.release();
  };
  const runTime = (t: PlacementTiming): Promise<number> => t.time();
  /**
   * Alternating rounds. `faster`: b beat a by the margin in every round (a noisy machine must not make a region
   * float by chance); `slower`: a beat b so; aMs/bMs: medians of the per-round figures.
   */
  const compare = async (a: PlacementTiming, b: PlacementTiming, n = rounds): Promise<{ aMs: number; bMs: number; faster: boolean; slower: boolean; minSpeedup: number; ratios: number[] }> => {
    const am: number[] = [];
    const bm: number[] = [];
    for (let r = 0; r < n; r++) {
      if (options.signal?.aborted) throw new TrtnError('ERR_ABORTED', 'measured placement was aborted');
      if (r % 2 === 0) {
        am.push(await runTime(a));
        bm.push(await runTime(b));
      } else {
        bm.push(await runTime(b));
        am.push(await runTime(a));
      }
    }
    return {
      aMs: median(am),
      bMs: median(bm),
      faster: bm.every((v, i) => v < am[i]! * (1 - margin)),
      slower: am.every((v, i) => v < bm[i]! * (1 - margin)),
      minSpeedup: Math.min(...bm.map((v, i) => am[i]! / v)),
      ratios: bm.map((v, i) => +(v / am[i]!).toFixed(4)),
    };
  };

  const planned = new Map<QdqPlan, OnnxModel>();
  const planFor = (floatNodes: readonly string[]): QdqPlan => {
    const r = planQdqForTarget(model, { ...qdq, exclude: [...(qdq.exclude ?? []), ...floatNodes] });
    planned.set(r.plan, r.model);
    return r.plan;
  };
  const modelFor = (plan: QdqPlan): OnnxModel => insertQdq(planned.get(plan)!, new Map(plan.calibrate.map((t) => [t, 1 / 127])), { ...qdq, plan }).model;
  const keyOf = (floatNodes: readonly string[]) => `q:${[...floatNodes].sort().join('\n')}`;

  const rules = planFor([]);
  const regions = rules.report.quantized.map((e) => ({ node: e.node, opType: e.opType }));
  const named = regions.filter((r) => model.graph.nodes.some((n) => n.name === r.node));
  const cost = computeCost(model, named.map((r) => r.node));
  const order = [...named].sort((a, b) => (cost.get(a.node) ?? 0) - (cost.get(b.node) ?? 0));
  const unmeasured: PlacementReport['unmeasured'] = regions.filter((r) => !named.includes(r)).map((r) => ({ node: r.node, reason: 'the node has no name to exclude it by' }));

  try {
    const fp32 = await open('fp32', options.reference ?? model, false);
    let current: string[] = [];
    let currentKey = keyOf(current);
    let cur = await open(currentKey, modelFor(rules), true);
    const base = await compare(fp32, cur);
    const fp32Ms = base.aMs;
    const rulesMs = base.bMs;
    let chosenMs = rulesMs;
    const decisions: PlacementDecision[] = [];
    let int8InARow = 0;
    const prefixes: PlacementReport['prefixes'] = [];
    // Two rounds more than a region's comparison: a prefix is a few candidates, and the early layers' timings vary most.
    const prefixRounds = rounds + 2;
    // Float prefixes, smallest first, each against the best placement so far (a longer prefix can win where a shorter
    // one did not: the cut inside a block may leave its layout Transposes in place).
    const opTypeOf = new Map(named.map((r) => [r.node, r.opType]));
    for (const prefix of floatPrefixes(model, named.map((r) => r.node), cost, options.prefixShare ?? 0.25).slice(0, options.prefixes ?? 4)) {
      if (options.signal?.aborted) throw new TrtnError('ERR_ABORTED', 'measured placement was aborted');
      const plan = planFor(prefix.regions);
      if (options.feasible?.(plan)) continue;
      const key = keyOf(prefix.regions);
      const cand = await open(key, modelFor(plan), true);
      const r = await compare(cur, cand, prefixRounds);
      prefixes.push({ boundary: prefix.boundary, regions: prefix.regions.length, floatOverInt8: r.ratios, taken: r.faster });
      if (!r.faster) {
        await release(key);
        continue;
      }
      const reason = `float prefix: int8 starting at '${prefix.boundary}' measured faster, ${r.bMs.toFixed(2)} ms vs ${r.aMs.toFixed(2)} ms starting earlier (whole model, ${setting})`;
      for (const d of decisions) if (d.choice === 'float') Object.assign(d, { reason });
      for (const node of prefix.regions.filter((n) => !current.includes(n)))
        decisions.push({ node, opType: opTypeOf.get(node)!, choice: 'float', int8Ms: r.aMs, floatMs: r.bMs, floatOverInt8: r.ratios, reason, decidedBy: 'measured' });
      await release(currentKey);
      current = prefix.regions;
      currentKey = key;
      cur = cand;
      chosenMs = r.bMs;
    }
    let skipSearch = options.searchBelowSpeedup !== undefined && base.minSpeedup >= options.searchBelowSpeedup;
    if (skipSearch) {
      // Confirmed in a second, fresh session: the same int8 model has timed 14.5 ms in one ONNX Runtime session and
      // 29.7 ms in another (ShuffleNetV2's uint8 Transposes, batch 64), and a fast first session must not keep int8.
      const again = await compare(fp32, await open('q:again', modelFor(planFor(current)), true));
      await release('q:again');
      skipSearch = again.minSpeedup >= options.searchBelowSpeedup!;
    }
    if (skipSearch) for (const region of order.filter((r) => !current.includes(r.node))) unmeasured.push({ node: region.node, reason: `not timed (the rules placement ran at least ${options.searchBelowSpeedup}x faster than FP32 in every round of two sessions); kept int8` });
    for (const region of skipSearch ? [] : order.filter((r) => !current.includes(r.node))) {
      const over = performance.now() - start > budget ? `budget of ${(budget / 1000).toFixed(0)} s spent` : int8InARow >= patience ? `${patience} smaller regions in a row were faster on int8` : undefined;
      if (over) {
        unmeasured.push({ node: region.node, reason: `not timed (${over}); kept int8` });
        continue;
      }
      const trial = [...current, region.node];
      const plan = planFor(trial);
      const infeasible = options.feasible?.(plan);
      if (infeasible) {
        unmeasured.push({ node: region.node, reason: `not timed (${infeasible}); kept int8` });
        continue;
      }
      const trialKey = keyOf(trial);
      const cand = await open(trialKey, modelFor(plan), true);
      const r = await compare(cur, cand);
      if (r.faster) {
        decisions.push({ node: region.node, opType: region.opType, choice: 'float', int8Ms: r.aMs, floatMs: r.bMs, floatOverInt8: r.ratios, decidedBy: 'measured' });
        await release(currentKey);
        current = trial;
        currentKey = trialKey;
        cur = cand;
        chosenMs = r.bMs;
        int8InARow = 0;
      } else {
        decisions.push({ node: region.node, opType: region.opType, choice: 'int8', int8Ms: r.aMs, floatMs: r.bMs, floatOverInt8: r.ratios, decidedBy: r.slower ? 'measured' : 'within noise' });
        await release(trialKey);
        int8InARow++;
      }
    }
    // Confirm the region-by-region result against the rules placement: single steps can pass by chance on a loaded
    // machine.
    let confirmation: string | undefined;
    if (current.length > 0) {
      const rulesAgain = await open(keyOf([]), modelFor(rules), true);
      const r = await compare(rulesAgain, cur);
      if (r.faster) chosenMs = r.bMs;
      else {
        confirmation = `not confirmed against the rules placement (${r.bMs.toFixed(2)} ms vs ${r.aMs.toFixed(2)} ms): rules kept`;
        for (const d of decisions)
          if (d.choice === 'float') {
            Object.assign(d, { choice: 'int8', decidedBy: 'within noise' });
            delete d.reason;
          }
        for (const x of prefixes) x.taken = false;
        await release(currentKey);
        current = [];
        currentKey = keyOf(current);
        cur = rulesAgain;
        chosenMs = r.aMs;
      }
    }
    // The all-float placement (no Q/DQ left: the FP32 model itself). It cannot be slower than FP32, so the int8
    // placement is kept only when it beats it by the margin in every round: a model whose int8 kernels cannot pay
    // for themselves on this CPU is never made slower by quantizing it, and noise errs on the side of FP32.
    const rest = named.filter((r) => !current.includes(r.node));
    let allFloatNote: string | undefined;
    let allFloatOverInt8: number[] | undefined;
    if (!skipSearch && rest.length > 0 && current.length + rest.length === regions.length) {
      const all = [...current, ...rest.map((r) => r.node)];
      const cand = options.reference ? fp32 : await open(keyOf(all), modelFor(planFor(all)), true);
      let r = await compare(cur, cand);
      allFloatOverInt8 = r.ratios;
      if (r.slower && options.reference) {
        // Int8 kept only when a second measurement agrees: the rules placement's own first timing against FP32 when
        // the search kept it (ShuffleNetV2 timed 0.99x there and 1.22x here, minutes apart in one build), else a fresh
        // session of the chosen placement.
        const again =
          current.length === 0
            ? { aMs: base.bMs, bMs: base.aMs, faster: base.slower, slower: base.faster, minSpeedup: Math.min(...base.ratios), ratios: base.ratios.map((v) => 1 / v) }
            : await compare(await open('q:confirm', modelFor(planFor(current)), true), fp32);
        if (current.length > 0) await release('q:confirm');
        if (!again.slower) r = again;
      }
      if (!r.slower) {
        allFloatNote = `int8 not measured faster than float for the whole model in every round${options.reference ? ' of two measurements' : ''}: ${r.aMs.toFixed(2)} ms with int8 regions vs ${r.bMs.toFixed(2)} ms all float (${setting})`;
        for (const region of rest) {
          const d = decisions.find((x) => x.node === region.node);
          const decided = { choice: 'float' as const, int8Ms: r.aMs, floatMs: r.bMs, floatOverInt8: r.ratios, reason: allFloatNote, decidedBy: r.faster ? ('measured' as const) : ('within noise' as const) };
          if (d) Object.assign(d, decided);
          else decisions.push({ node: region.node, opType: region.opType, ...decided });
        }
        for (let i = unmeasured.length - 1; i >= 0; i--) if (rest.some((x) => x.node === unmeasured[i]!.node)) unmeasured.splice(i, 1);
        current = all;
        chosenMs = r.bMs;
      }
    }
    const floatNodes = new Set(current);
    const keepFloat = decisions
      .filter((d) => floatNodes.has(d.node))
      .map((d) => ({
        node: d.node,
        reason: d.reason ?? `measured faster in float: ${d.floatMs.toFixed(2)} ms vs ${d.int8Ms.toFixed(2)} ms with it on int8 (whole model, ${setting})`,
      }));
    const seconds = (performance.now() - start) / 1000;
    // where int8 starts: the last prefix taken (none when the final check undid them)
    const prefixAt = prefixes.filter((x) => x.taken).at(-1)?.boundary;
    const prefixed = keepFloat.filter((k) => k.reason.startsWith('float prefix')).length;
    const prefixNote = prefixAt ? `int8 starts at '${prefixAt}' (a float prefix of ${prefixed} region${prefixed === 1 ? '' : 's'} measured faster)` : undefined;
    const summary = skipSearch
      ? prefixAt
        ? `${prefixNote}; int8 ${chosenMs.toFixed(2)} ms vs fp32 ${fp32Ms.toFixed(2)} ms (${setting}), rules placement ${rulesMs.toFixed(2)} ms, at least ${options.searchBelowSpeedup}x faster than FP32 in every round of two sessions, so no region search`
        : `rules placement kept: int8 ${rulesMs.toFixed(2)} ms vs fp32 ${fp32Ms.toFixed(2)} ms (${setting}, at least ${options.searchBelowSpeedup}x faster in every round of two sessions)`
      : `measured (${setting}, ${seconds.toFixed(0)} s): ${prefixNote ? `${prefixNote}; ` : ''}${keepFloat.length} of ${regions.length} regions kept float; ` +
      `int8 ${chosenMs.toFixed(2)} ms vs fp32 ${fp32Ms.toFixed(2)} ms (rules placement ${rulesMs.toFixed(2)} ms)${confirmation ? `; search result ${confirmation}` : ''}${allFloatNote ? `; ${allFloatNote}` : ''}`;
    return { keepFloat, report: { mode: options.searchBelowSpeedup !== undefined ? 'auto' : 'measured', batch, threads: threads ?? null, fp32Ms, rulesMs, fp32OverRules: base.ratios.map((v) => +(1 / v).toFixed(4)), ...(allFloatOverInt8 ? { allFloatOverInt8 } : {}), chosenMs, decisions, unmeasured, prefixes, seconds, summary } };
  } finally {
    for (const key of [...sessions.keys()]) await release(key);
  }
}
