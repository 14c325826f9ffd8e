/**
 * A deterministic, seeded mutator for protobuf-encoded files (ONNX models) and opaque binaries (calibration
 * caches, engine files). Mutant `index` of a given seed is always the same bytes, so a failure found by the fuzz
 * tests is reproduced with `mutate(bytes, tree, mixSeed(seed, index))`.
 *
 * Structured mutations walk the protobuf wire format: every field (tag + value) is a node, and a length-delimited
 * value that itself parses cleanly as a message is descended into. Deleting or duplicating a node re-encodes
 * every enclosing length prefix, so the result is still well-formed protobuf and reaches the ONNX decoder's
 * semantic checks rather than stopping at the wire layer.
 */
import { createRandom, mixSeed, type Random } from '../../lib/data/random.js';

export { mixSeed };

export interface PbField {
  /** Offsets in the original bytes: tag start, value start (after tag and length), end. */
  start: number;
  valueStart: number;
  end: number;
  fieldNumber: number;
  wireType: number;
  /** Set when a length-delimited value parses as a message. */
  children?: PbField[];
}

export type MutationKind = 'bit-flip' | 'truncate' | 'delete-field' | 'duplicate-field' | 'varint-value' | 'overwrite-bytes';

export interface Mutant {
  bytes: Uint8Array;
  kind: MutationKind;
  /** What was changed, for a reproducible failure message. */
  description: string;
}

function readVarint(b: Uint8Array, pos: number, end: number): [value: number, next: number] | undefined {
  let value = 0;
  let shift = 0;
  for (let i = pos; i < end && i < pos + 10; i++) {
    const byte = b[i]!;
    if (shift < 49) value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

/** Parse bytes[start, end) as a message; undefined when it is not cleanly one (then it is a leaf). */
export function parseFields(bytes: Uint8Array, start = 0, end = bytes.length, depth = 0): PbField[] | undefined {
  const fields: PbField[] = [];
  let pos = start;
  while (pos < end) {
    const tag = readVarint(bytes, pos, end);
    if (!tag) return undefined;
    const [key, afterTag] = tag;
    const fieldNumber = Math.floor(key / 8);
    const wireType = key % 8;
    if (fieldNumber === 0 || fieldNumber > 536870911) return undefined;
    let valueStart = afterTag;
    let valueEnd: number;
    if (wireType === 0) {
      const v = readVarint(bytes, afterTag, end);
      if (!v) return undefined;
      valueEnd = v[1];
    } else if (wireType === 1) valueEnd = afterTag + 8;
    else if (wireType === 5) valueEnd = afterTag + 4;
    else if (wireType === 2) {
      const len = readVarint(bytes, afterTag, end);
      if (!len) return undefined;
      valueStart = len[1];
      valueEnd = valueStart + len[0];
    } else return undefined; // groups (3/4) and reserved wire types do not occur in ONNX
    if (valueEnd > end) return undefined;
    const field: PbField = { start: pos, valueStart, end: valueEnd, fieldNumber, wireType };
    // A tensor payload (raw_data) almost never parses as a message and is left as a leaf.
    if (wireType === 2 && depth < 12 && valueEnd > valueStart) {
      field.children = parseFields(bytes, valueStart, valueEnd, depth + 1);
    }
    fields.push(field);
    pos = valueEnd;
  }
  return pos === end ? fields : undefined;
}

/** Every field node in the tree, depth first. */
export function flatten(fields: PbField[], out: PbField[] = []): PbField[] {
  for (const f of fields) {
    out.push(f);
    if (f.children) flatten(f.children, out);
  }
  return out;
}

function encodeVarint(value: number, out: number[]): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Re-encode the tree with `target` deleted or written twice; enclosing length prefixes are recomputed. */
function reencode(bytes: Uint8Array, fields: PbField[], target: PbField, op: 'delete' | 'duplicate'): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    if (f === target && op === 'delete') continue;
    let encoded: Uint8Array;
    if (f.children && containsField(f.children, target)) {
      const inner = reencode(bytes, f.children, target, op);
      const head: number[] = [];
      encodeVarint(f.fieldNumber * 8 + 2, head);
      encodeVarint(inner.length, head);
      encoded = concat([Uint8Array.from(head), inner]);
    } else encoded = bytes.subarray(f.start, f.end);
    parts.push(encoded);
    if (f === target && op === 'duplicate') parts.push(encoded);
  }
  return concat(parts);
}

function containsField(fields: PbField[], target: PbField): boolean {
  // Offsets nest, so a subtree contains the target exactly when its span does.
  const first = fields[0];
  const last = fields[fields.length - 1];
  return first !== undefined && last !== undefined && target.start >= first.start && target.end <= last.end;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

const KINDS: readonly MutationKind[] = ['bit-flip', 'bit-flip', 'bit-flip', 'truncate', 'delete-field', 'delete-field', 'duplicate-field', 'duplicate-field', 'varint-value', 'overwrite-bytes'];
const INTERESTING_VARINTS = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 53 - 1];

/**
 * Mutant number `seed` of `bytes`. `tree` is parseFields(bytes) (parsed once per file); without one (an opaque
 * binary), the structured kinds fall back to byte-level ones.
 */
export function mutate(input: Uint8Array, tree: PbField[] | undefined, seed: number): Mutant {
  // A plain Uint8Array view: Buffer#slice shares memory, and a mutant must never write into the original.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const random = createRandom(seed);
  const nodes = tree ? flatten(tree) : [];
  let kind = pick(random, KINDS);
  if (nodes.length === 0 && (kind === 'delete-field' || kind === 'duplicate-field' || kind === 'varint-value')) kind = 'overwrite-bytes';
  switch (kind) {
    case 'bit-flip': {
      const out = bytes.slice();
      const flips = 1 + Math.floor(random() * 4);
      const where: string[] = [];
      for (let i = 0; i < flips; i++) {
        // Half the flips land in a field's tag/length/value head, where they change structure, not weights.
        const node = nodes.length && random() < 0.5 ? pick(random, nodes) : undefined;
        const offset = node ? node.start + Math.floor(random() * Math.min(16, node.end - node.start)) : Math.floor(random() * out.length);
        const bit = Math.floor(random() * 8);
        out[offset]! ^= 1 << bit;
        where.push(`${offset}.${bit}`);
      }
      return { bytes: out, kind, description: `flipped bits ${where.join(', ')}` };
    }
    case 'truncate': {
      const at = Math.floor(random() * bytes.length);
      return { bytes: bytes.slice(0, at), kind, description: `truncated to ${at} of ${bytes.length} bytes` };
    }
    case 'delete-field':
    case 'duplicate-field': {
      const node = pick(random, nodes);
      const op = kind === 'delete-field' ? 'delete' : 'duplicate';
      return { bytes: reencode(bytes, tree!, node, op), kind, description: `${op}d field ${node.fieldNumber} (wire ${node.wireType}) at ${node.start}..${node.end}` };
    }
    case 'varint-value': {
      const varints = nodes.filter((n) => n.wireType === 0);
      if (varints.length === 0) return mutate(bytes, undefined, seed + 1);
      const node = pick(random, varints);
      const value = random() < 0.7 ? pick(random, INTERESTING_VARINTS) : Math.floor(random() * 2 ** 32);
      const head = bytes.subarray(node.start, node.valueStart);
      const encoded: number[] = [];
      encodeVarint(value, encoded);
      const out = concat([bytes.subarray(0, node.start), head, Uint8Array.from(encoded), bytes.subarray(node.end)]);
      // The enclosing messages' lengths are now off when the varint changed width: that is a mutation too.
      return { bytes: out, kind, description: `set varint field ${node.fieldNumber} at ${node.start} to ${value}` };
    }
    case 'overwrite-bytes': {
      const out = bytes.slice();
      const at = Math.floor(random() * out.length);
      const len = Math.min(out.length - at, 1 + Math.floor(random() * 16));
      for (let i = 0; i < len; i++) out[at + i] = Math.floor(random() * 256);
      return { bytes: out, kind, description: `overwrote ${len} bytes at ${at}` };
    }
  }
}

/**
 * Lines of a text file as flat "fields", so delete-field / duplicate-field drop or repeat whole lines (for
 * line-oriented formats such as calibration caches). Each span includes its newline.
 */
export function linesAsFields(bytes: Uint8Array): PbField[] {
  const fields: PbField[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      const end = Math.min(i + 1, bytes.length);
      if (end > start) fields.push({ start, valueStart: start, end, fieldNumber: 1, wireType: 2 });
      start = end;
    }
  }
  return fields;
}
