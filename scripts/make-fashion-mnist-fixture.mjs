#!/usr/bin/env node
// Writes test/fixtures/fashion-mnist/: a stratified subset of Debian's dataset-fashion-mnist (the first
// PER_CLASS images of each class, in file order) as gzipped IDX files with the original names, so fashionMnist()
// reads it like the full set. Tests and `npm run study` use it where the Debian package is not installed.
//   node scripts/make-fashion-mnist-fixture.mjs [source-dir]     (default /usr/share/datasets/fashion-mnist)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const PER_CLASS = { train: 60, t10k: 60 };
const source = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'fashion-mnist');
mkdirSync(out, { recursive: true });

const read = (name) => gunzipSync(readFileSync(join(source, `${name}.gz`)));
// IDX: 00 00 08 <ndim>, ndim big-endian uint32 dims, then the bytes.
function idx(dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x00000800 | dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([header, data]), { level: 9 });
}

for (const [prefix, perClass] of Object.entries(PER_CLASS)) {
  const images = read(`${prefix}-images-idx3-ubyte`);
  const labels = read(`${prefix}-labels-idx1-ubyte`);
  const [rows, cols] = [images.readUInt32BE(8), images.readUInt32BE(12)];
  const size = rows * cols;
  const taken = new Array(10).fill(0);
  const picked = [];
  for (let i = 0; i < labels.length - 8 && picked.length < 10 * perClass; i++) {
    const label = labels[8 + i];
    if (taken[label] < perClass) {
      taken[label]++;
      picked.push(i);
    }
  }
  const pixels = Buffer.concat(picked.map((i) => images.subarray(16 + i * size, 16 + (i + 1) * size)));
  const labelBytes = Buffer.from(picked.map((i) => labels[8 + i]));
  writeFileSync(join(out, `${prefix}-images-idx3-ubyte.gz`), idx([picked.length, rows, cols], pixels));
  writeFileSync(join(out, `${prefix}-labels-idx1-ubyte.gz`), idx([picked.length], labelBytes));
  console.log(`${prefix}: ${picked.length} images (${perClass} per class) -> ${out}`);
}
