/** The loop shared by the fuzz tests: run mutants through a loader and classify each outcome. */
import { TrtnError, type ErrorCode } from '../../lib/errors.js';
import { mutate, mixSeed, parseFields, linesAsFields, type MutationKind } from './mutator.js';

/** Mutants per fuzz target: TRTN_FUZZ_COUNT overrides (`npm run fuzz` sets a long run). */
export function fuzzCount(fallback: number): number {
  const raw = process.env.TRTN_FUZZ_COUNT;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`TRTN_FUZZ_COUNT must be a positive integer, got '${raw}'`);
  return n;
}

export const FUZZ_SEED = Number(process.env.TRTN_FUZZ_SEED ?? 0x7452544e); // 'tRTN'

export interface FuzzFailure {
  index: number;
  seed: number;
  kind: MutationKind;
  description: string;
  error: string;
}

export interface FuzzSummary {
  count: number;
  accepted: number;
  rejected: Partial<Record<ErrorCode, number>>;
  byKind: Partial<Record<MutationKind, number>>;
  failures: FuzzFailure[];
  totalMs: number;
  slowestMs: number;
  slowest: string;
}

export interface FuzzTarget {
  name: string;
  bytes: Uint8Array;
  /** Structure for the field-level mutations: protobuf fields (ONNX), text lines, or none (opaque bytes). */
  structure: 'protobuf' | 'lines' | 'opaque';
  /** Loads the mutant; resolves when accepted, throws when rejected. */
  load: (bytes: Uint8Array, label: string) => unknown | Promise<unknown>;
  /** The codes a rejection may carry; anything else (or a non-TrtnError) is a failure. */
  codes: readonly ErrorCode[];
}

/** Run `count` mutants (seeded by mixSeed(seed, index)) of each target, spread by weight. */
export async function fuzz(target: FuzzTarget, count: number, seed = FUZZ_SEED, firstIndex = 0): Promise<FuzzSummary> {
  const tree = target.structure === 'protobuf' ? parseFields(target.bytes) : target.structure === 'lines' ? linesAsFields(target.bytes) : undefined;
  if (target.structure === 'protobuf' && !tree) throw new Error(`${target.name} does not parse as protobuf`);
  const s: FuzzSummary = { count, accepted: 0, rejected: {}, byKind: {}, failures: [], totalMs: 0, slowestMs: 0, slowest: '' };
  const started = performance.now();
  for (let i = firstIndex; i < firstIndex + count; i++) {
    const mutantSeed = mixSeed(seed, i);
    const m = mutate(target.bytes, tree, mutantSeed);
    s.byKind[m.kind] = (s.byKind[m.kind] ?? 0) + 1;
    const t = performance.now();
    try {
      await target.load(m.bytes, `${target.name}#${i}`);
      s.accepted++;
    } catch (err) {
      if (err instanceof TrtnError && target.codes.includes(err.code)) {
        s.rejected[err.code] = (s.rejected[err.code] ?? 0) + 1;
      } else {
        const e = err as Error;
        s.failures.push({ index: i, seed: mutantSeed, kind: m.kind, description: m.description, error: `${e?.name}: ${e?.message ?? String(err)}`.slice(0, 300) });
      }
    }
    const ms = performance.now() - t;
    if (ms > s.slowestMs) {
      s.slowestMs = ms;
      s.slowest = `#${i} (${m.kind}: ${m.description})`;
    }
  }
  s.totalMs = performance.now() - started;
  return s;
}

export function describe(s: FuzzSummary, name: string): string {
  const rejected = Object.entries(s.rejected).map(([c, n]) => `${c} ${n}`).join(', ');
  return `${name}: ${s.count} mutants in ${(s.totalMs / 1000).toFixed(1)} s: ${s.accepted} loaded, rejected ${rejected || 'none'}; ` +
    `${s.failures.length} failures; slowest ${s.slowestMs.toFixed(1)} ms ${s.slowest}`;
}
