/**
 * ONNX's own backend node tests (1,802 cases) through the package, against onnxruntime-node called directly.
 * A case counts against the package only where onnxruntime-node runs it correctly (the baseline):
 * - fp32: buildEngine(onnxruntime) + infer matches the expected outputs (ONNX's tolerance);
 * - checkModel rejects none of the cases, and every shape / type it infers for a graph output is the real one;
 * - fp16: every baseline case with a float32 input builds and runs at precision 'fp16', within a loose tolerance.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../lib/backends/index.js';
import { buildEngine } from '../../lib/engine/api.js';
import type { Feeds, TensorData } from '../../lib/engine/types.js';
import { checkModel } from '../../lib/onnx/check.js';
import { DataType } from '../../lib/onnx/model.js';
import {
  caseOp, compareTensor, dtypeOf, listCases, ONNX_TOLERANCE, pool, readCase, toTensorData, unpackNodeTests, type NodeCase, type Tolerance,
} from './node-cases.js';

/** FP16 keeps ~3 significant digits; accumulations (reductions, matmuls) lose more. */
const FP16_TOLERANCE: Tolerance = { rtol: 2e-2, atol: 2e-2 };
const CONCURRENCY = 4;
const SESSION = { intraOpThreads: 1 } as const;

interface CaseResult {
  name: string;
  op: string;
  /** 'ok', or why onnxruntime-node itself does not run the case correctly: 'category: detail'. */
  baseline: string;
  check?: string;
  inference?: string;
  fp32?: string;
  fp16?: string;
  fp16Path?: string;
}

function firstMismatch(c: NodeCase, outputs: Record<string, TensorData>, tol: Tolerance): string | undefined {
  for (const [name, want] of c.outputs) {
    const why = compareTensor(want, outputs[name], tol);
    if (why) return `output '${name}': ${why}`;
  }
  return undefined;
}

const short = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);

async function runBaseline(c: NodeCase): Promise<string> {
  if (c.nonTensor) return `non-tensor io: ${c.nonTensor}`;
  const bad = [...c.inputs, ...c.outputs].find(([, t]) => !dtypeOf(t));
  if (bad) return `dtype: '${bad[0]}' has data type ${bad[1].dataType}, which onnxruntime-node cannot carry`;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(c.bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (err) {
    return `load: ${short(err)}`;
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of c.inputs) {
      const d = toTensorData(t);
      feeds[name] = new ort.Tensor(d.dtype as ort.Tensor.Type, d.data as never, d.dims);
    }
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await session.run(feeds);
    } catch (err) {
      return `run: ${short(err)}`;
    }
    const got: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(out)) got[name] = { data: t.data as TensorData['data'], dims: [...t.dims], dtype: t.type as TensorData['dtype'] };
    const why = firstMismatch(c, got, ONNX_TOLERANCE);
    return why ? `mismatch: ${why}` : 'ok';
  } finally {
    await session.release();
  }
}

function engineFeeds(c: NodeCase): Feeds {
  return Object.fromEntries(c.inputs.map(([name, t]) => [name, toTensorData(t)]));
}

async function runEngine(c: NodeCase, precision: 'fp32' | 'fp16', tol: Tolerance, result: CaseResult): Promise<string> {
  let engine;
  try {
    engine = await buildEngine(c.bytes, { precision, backend: 'onnxruntime', session: SESSION });
  } catch (err) {
    return `build: ${short(err)}`;
  }
  try {
    if (precision === 'fp16') result.fp16Path = engine.path;
    let out;
    try {
      out = await engine.infer(engineFeeds(c));
    } catch (err) {
      return `infer: ${short(err)}`;
    }
    const why = firstMismatch(c, out, tol);
    return why ? `mismatch: ${why}` : 'ok';
  } finally {
    await engine[Symbol.asyncDispose]();
  }
}

/** Where checkModel infers a graph output's shape or element type, it must be the one the expected output has. */
function checkInference(c: NodeCase, shapes: ReturnType<typeof checkModel>['shapes']): string | undefined {
  for (const [name, want] of c.outputs) {
    const s = shapes.get(name);
    if (!s) continue;
    if (s.elemType && s.elemType !== want.dataType) return `output '${name}': inferred element type ${s.elemType}, real ${want.dataType}`;
    if (s.shape && (s.shape.length !== want.dims.length || s.shape.some((d, i) => typeof d === 'number' && d !== want.dims[i])))
      return `output '${name}': inferred [${s.shape.join(',')}], real [${want.dims.join(',')}]`;
  }
  return undefined;
}

const hasFloatFeed = (c: NodeCase) => c.inputs.some(([, t]) => t.dataType === DataType.FLOAT);

function tally(results: CaseResult[], pick: (r: CaseResult) => string | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const v = pick(r);
    if (v === undefined) continue;
    const key = v === 'ok' ? 'ok' : v.slice(0, v.indexOf(':') > 0 ? v.indexOf(':') : undefined);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('ONNX backend node tests', () => {
  const results: CaseResult[] = [];
  let seconds = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    const dir = unpackNodeTests();
    const names = listCases(dir);
    const only = process.env.TRTN_ONNX_NODE_FILTER ? new RegExp(process.env.TRTN_ONNX_NODE_FILTER) : undefined;
    await pool(only ? names.filter((n) => only.test(n)) : names, CONCURRENCY, async (name) => {
      const c = readCase(dir, name);
      const r: CaseResult = { name, op: caseOp(c), baseline: await runBaseline(c) };
      try {
        const report = checkModel(c.model);
        r.check = 'ok';
        if (!c.nonTensor) r.inference = checkInference(c, report.shapes) ?? 'ok';
      } catch (err) {
        r.check = `rejected: ${short(err)}`;
      }
      if (r.baseline === 'ok') {
        r.fp32 = await runEngine(c, 'fp32', ONNX_TOLERANCE, r);
        if (hasFloatFeed(c)) r.fp16 = await runEngine(c, 'fp16', FP16_TOLERANCE, r);
      }
      results.push(r);
    });
    seconds = (performance.now() - t0) / 1000;
    results.sort((a, b) => (a.name < b.name ? -1 : 1));
    const summary = {
      cases: results.length,
      seconds: Math.round(seconds),
      baseline: tally(results, (r) => r.baseline),
      checkModel: tally(results, (r) => r.check),
      inference: tally(results, (r) => r.inference),
      fp32: tally(results, (r) => r.fp32),
      fp16: tally(results, (r) => r.fp16),
      fp16KeptFloat32: results.filter((r) => r.fp16Path?.includes('kept float32')).length,
      // Op types kept float32 (by the converter's rules, or because ONNX Runtime refused their float16 form).
      fp16KeptOps: tally(results.flatMap((r) => /kept float32: ([^;)]*)/.exec(r.fp16Path ?? '')?.[1]?.split(', ').map((op) => ({ ...r, op })) ?? []), (r) => `${r.op}:`),
      fp16RefusedByOrt: tally(results.flatMap((r) => /refused float16 for ([^)]*)/.exec(r.fp16Path ?? '')?.[1]?.split(', ').map((op) => ({ ...r, op })) ?? []), (r) => `${r.op}:`),
    };
    console.log(`ONNX node tests: ${JSON.stringify(summary, null, 1)}`);
    // The per-case table, for a human looking into a failure.
    writeFileSync(join(tmpdir(), 'trtn-onnx-node-results.json'), JSON.stringify(results, null, 1));
  }, 30 * 60_000);

  const failures = (pick: (r: CaseResult) => string | undefined) =>
    results.filter((r) => pick(r) !== undefined && pick(r) !== 'ok').map((r) => `${r.name}: ${pick(r)}`);

  it('reads every case, and onnxruntime-node itself runs most of them', () => {
    expect(results.length).toBe(process.env.TRTN_ONNX_NODE_FILTER ? results.length : 1802);
    expect(results.filter((r) => r.baseline === 'ok').length).toBeGreaterThan(process.env.TRTN_ONNX_NODE_FILTER ? 0 : 1400);
  });

  it('checkModel rejects none of the models', () => {
    expect(failures((r) => r.check)).toEqual([]);
  });

  it('every output shape and element type checkModel infers is the real one', () => {
    expect(failures((r) => r.inference)).toEqual([]);
  });

  it("buildEngine(fp32) + infer matches wherever onnxruntime-node does", () => {
    expect(failures((r) => r.fp32)).toEqual([]);
  });

  it("precision 'fp16' builds and runs every such case with a float32 input, within a loose tolerance", () => {
    expect(failures((r) => r.fp16)).toEqual([]);
  });
});
