/**
 * ONNX's backend node tests (../shared/onnx-node-tests/node.tar.xz): unpacking, reading a case, turning its
 * TensorProtos into engine feeds, and comparing outputs the way ONNX's backend test runner does.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DType, TensorData, TensorValues } from '../../lib/engine/types.js';
import { feedInputs } from '../../lib/onnx/graph.js';
import { parseModel, parseTensor } from '../../lib/onnx/io.js';
import { DataType, type OnnxModel, type OnnxTensor, type OnnxValueInfo } from '../../lib/onnx/model.js';
import { dataTypeName, dataTypeToDType, halfToFloat, tensorToArray } from '../../lib/onnx/tensor.js';

export const TARBALL = resolve(process.env.TRTN_ONNX_NODE_TESTS ?? join(import.meta.dirname, '../../../shared/onnx-node-tests/node.tar.xz'));

/** Unpack the tarball once per tarball version into the OS temp dir; returns the folder holding test_* cases. */
export function unpackNodeTests(): string {
  if (!existsSync(TARBALL)) throw new Error(`ONNX node tests not found at ${TARBALL} (set TRTN_ONNX_NODE_TESTS to node.tar.xz)`);
  const st = statSync(TARBALL);
  const root = join(tmpdir(), `trtn-onnx-node-${st.size}-${Math.floor(st.mtimeMs)}`);
  const done = join(root, '.complete');
  if (!existsSync(done)) {
    // Unpack beside, then rename: a concurrent or interrupted run never sees half a folder.
    const staging = `${root}.${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    execFileSync('tar', ['-xJf', TARBALL, '-C', staging]);
    writeFileSync(join(staging, '.complete'), '');
    try {
      renameSync(staging, root);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another run won the rename
    }
  }
  return join(root, 'node');
}

export interface NodeCase {
  name: string;
  bytes: Uint8Array;
  model: OnnxModel;
  /** Feed name -> tensor, in the model's input order. */
  inputs: [string, OnnxTensor][];
  /** Graph output name -> expected tensor. */
  outputs: [string, OnnxTensor][];
  /** Why the case is not plain tensors in and out (sequence, optional, map types), if it is not. */
  nonTensor?: string;
}

const isTensorValue = (v: OnnxValueInfo) => v.type?.tensorType !== undefined;

export function listCases(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('test_')).sort();
}

export function readCase(dir: string, name: string): NodeCase {
  const caseDir = join(dir, name);
  const bytes = new Uint8Array(readFileSync(join(caseDir, 'model.onnx')));
  const model = parseModel(bytes, name);
  const feeds = feedInputs(model.graph);
  const data = join(caseDir, 'test_data_set_0');
  const nonTensor = [...feeds, ...model.graph.outputs].find((v) => !isTensorValue(v));
  const c: NodeCase = { name, bytes, model, inputs: [], outputs: [] };
  if (nonTensor) {
    c.nonTensor = `'${nonTensor.name}' is a ${Object.keys(nonTensor.type ?? {}).join('/') || 'typeless value'}`;
    return c;
  }
  const read = (file: string) => parseTensor(new Uint8Array(readFileSync(join(data, file))), `${name}/${file}`);
  // input_i.pb is the i-th fed input; a model may have optional inputs left out of the data set.
  const inputFiles = readdirSync(data).filter((f) => f.startsWith('input_')).sort((a, b) => Number(a.slice(6, -3)) - Number(b.slice(6, -3)));
  c.inputs = inputFiles.map((f, i) => [feeds[i]!.name, read(f)]);
  c.outputs = model.graph.outputs.map((o, i) => [o.name, read(`output_${i}.pb`)]);
  return c;
}

/** Is this a dtype onnxruntime-node can carry in and out? (bfloat16, float8 and int4 cannot be.) */
export function dtypeOf(t: OnnxTensor): DType | undefined {
  return dataTypeToDType(t.dataType);
}

/** A TensorProto as engine TensorData (strings as string[]). */
export function toTensorData(t: OnnxTensor): TensorData {
  const dtype = dtypeOf(t);
  if (!dtype) throw new Error(`tensor '${t.name}' is ${dataTypeName(t.dataType)}, which onnxruntime-node cannot carry`);
  if (dtype === 'string') return { data: (t.stringData ?? []).map((b) => Buffer.from(b).toString('utf8')), dims: [...t.dims], dtype };
  const arr = tensorToArray(t);
  // A fresh, aligned copy: views into the .pb buffer cannot be transferred or relied upon.
  return { data: arr.slice() as TensorData['data'], dims: [...t.dims], dtype };
}

function asNumbers(data: TensorValues, dtype: DType): ArrayLike<number | bigint | string> {
  if (dtype === 'float16') return Float64Array.from(data as Uint16Array, halfToFloat);
  return data as ArrayLike<number | bigint | string>;
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** ONNX's backend test tolerance (onnx/backend/test/runner: rtol 1e-3, atol 1e-7). */
export const ONNX_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-7 };

/**
 * Why `got` differs from the expected tensor, or undefined when it matches: same dims, exact for integers,
 * bools and strings, |got - want| <= atol + rtol * |want| for floats (NaN matches NaN, infinities must agree).
 */
export function compareTensor(want: OnnxTensor, got: TensorData | undefined, tol: Tolerance): string | undefined {
  if (!got) return 'missing output';
  const expected = toTensorData(want);
  if (got.dims.length !== expected.dims.length || got.dims.some((d, i) => d !== expected.dims[i]))
    return `dims [${got.dims.join(',')}], expected [${expected.dims.join(',')}]`;
  const a = asNumbers(got.data, got.dtype);
  const b = asNumbers(expected.data, expected.dtype);
  if (a.length !== b.length) return `${a.length} values, expected ${b.length}`;
  const isFloat = want.dataType === DataType.FLOAT || want.dataType === DataType.DOUBLE || want.dataType === DataType.FLOAT16;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!isFloat) {
      if (x !== y) return `value ${i}: ${String(x)}, expected ${String(y)}`;
      continue;
    }
    const xf = Number(x);
    const yf = Number(y);
    if (Number.isNaN(yf) ? Number.isNaN(xf) : xf === yf || Math.abs(xf - yf) <= tol.atol + tol.rtol * Math.abs(yf)) continue;
    return `value ${i}: ${xf}, expected ${yf}`;
  }
  return undefined;
}

/** Run `fn` over `items` with at most `limit` calls in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

/** ONNX's op type of a case: the first node's (the node tests hold one op each, plus expanded variants). */
export function caseOp(c: NodeCase): string {
  return c.model.graph.nodes[0]?.opType ?? '?';
}
