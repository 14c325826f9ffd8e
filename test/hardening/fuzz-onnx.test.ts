/**
 * Fuzzing the ONNX loading path (lib/onnx loadModel + checkModel) with seeded mutants of the fixture models:
 * every mutant must load or be rejected with a TrtnError of an ONNX code; nothing else may escape.
 * Count: TRTN_FUZZ_COUNT (default 10,000 on the cnn fixture, plus 1/50 of that on each larger fixture).
 */
import { describe as suite, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadModel, checkModel } from '../../lib/onnx/index.js';
import { mutate, parseFields, flatten, mixSeed } from './mutator.js';
import { fuzz, fuzzCount, describe, FUZZ_SEED, type FuzzTarget } from './fuzz.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/models/fmnist_${name}.onnx`, import.meta.url));
const COUNT = fuzzCount(10_000);

function onnxTarget(name: string): FuzzTarget {
  return {
    name,
    bytes: fixture(name),
    structure: 'protobuf',
    load: (bytes, label) => checkModel(loadModel(bytes, { name: label })),
    codes: ['ERR_ONNX_LOAD', 'ERR_ONNX_PARSE', 'ERR_ONNX_MODEL'],
  };
}

suite('mutator', () => {
  it('is deterministic per seed and keeps structured mutants well-formed protobuf', () => {
    const bytes = fixture('cnn');
    const tree = parseFields(bytes)!;
    expect(flatten(tree).length).toBeGreaterThan(50);
    const original = Buffer.from(bytes);
    let structured = 0;
    let unchanged = 0;
    for (let i = 0; i < 200; i++) {
      const a = mutate(bytes, tree, mixSeed(1, i));
      const b = mutate(bytes, tree, mixSeed(1, i));
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
      if (Buffer.from(a.bytes).equals(original)) unchanged++;
      if (a.kind === 'delete-field' || a.kind === 'duplicate-field') {
        structured++;
        expect(parseFields(a.bytes), a.description).toBeDefined();
      }
    }
    expect(structured).toBeGreaterThan(40);
    expect(unchanged).toBeLessThan(10); // a varint set to its own value, a duplicate of an empty field
    expect(bytes.equals(original)).toBe(true); // mutants are copies
  });

  it('the unmutated fixtures load and check', () => {
    for (const name of ['cnn', 'vgg16', 'mobilenet_v1']) expect(checkModel(loadModel(fixture(name))).nodeCount).toBeGreaterThan(5);
  });
});

suite('fuzz: ONNX loading', () => {
  it(`cnn fixture: ${COUNT} mutants load or reject with an ONNX TrtnError`, async () => {
    const s = await fuzz(onnxTarget('cnn'), COUNT, FUZZ_SEED);
    console.log(describe(s, 'onnx cnn'));
    expect(s.failures).toEqual([]);
    // Both outcomes occur: the mutator reaches the semantic checks, not just the wire decoder.
    expect(s.accepted).toBeGreaterThan(0);
    expect(Object.values(s.rejected).reduce((a, b) => a + b, 0)).toBeGreaterThan(COUNT / 10);
  });

  it('larger fixtures (vgg16, mobilenet_v1): mutants load or reject with an ONNX TrtnError', async () => {
    const n = Math.max(20, Math.floor(COUNT / 50));
    for (const name of ['vgg16', 'mobilenet_v1']) {
      const s = await fuzz(onnxTarget(name), n, FUZZ_SEED ^ 0x55);
      console.log(describe(s, `onnx ${name}`));
      expect(s.failures).toEqual([]);
    }
  });
});
