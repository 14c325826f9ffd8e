// Shared by the service benchmarks: fixture paths, Fashion-MNIST test images (raw bytes and normalised),
// argument parsing, percentiles and result files. Imports the compiled library from dist/.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled library: dist/ unless TRTN_LIB_DIR names another tsc output (test/workers uses its own). */
export const libDir = resolve(repoRoot, process.env.TRTN_LIB_DIR ?? 'dist');
const importFrom = (path) => import(pathToFileURL(join(libDir, path)).href);
// lib/index.ts does not import the backends yet: register the ones this build has (a missing one is skipped).
for (const backend of ['backends/onnxruntime/index.js', 'backends/tensorrt/index.js']) {
  await importFrom(backend).catch((err) => {
    if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  });
}
export const importLib = (path = 'index.js') => importFrom(path);
const { parseIdx, normalize, FASHION_MNIST_DIR, FASHION_MNIST_NORMALIZATION } = await importLib('data/index.js');
export const fixture = (name) => join(repoRoot, 'test', 'fixtures', 'models', `fmnist_${name}.onnx`);
export const IMAGE_BYTES = 784;

/** The first `count` Fashion-MNIST test images as raw bytes (count*784) and their labels. */
export function testImages(count = 10_000) {
  const read = (f) => parseIdx(gunzipSync(readFileSync(join(FASHION_MNIST_DIR, f))), f);
  const images = read('t10k-images-idx3-ubyte.gz');
  const labels = read('t10k-labels-idx1-ubyte.gz');
  const n = Math.min(count, images.dims[0]);
  return { count: n, raw: images.data.subarray(0, n * IMAGE_BYTES), labels: labels.data.subarray(0, n) };
}

/** Raw uint8 images (n*784 bytes) -> the models' float input (x/255 - 0.2860) / 0.3530. */
export function normalizeImages(raw) {
  const { scale, mean, std } = FASHION_MNIST_NORMALIZATION;
  return normalize(Float32Array.from(raw), 1, [mean], [std], scale);
}

/** `--name value` pairs over defaults; numbers stay numbers. */
export function parseArgs(defaults, argv = process.argv.slice(2)) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/i.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    const key = m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${m[1]} (known: ${Object.keys(defaults).join(', ')})`);
    const raw = m[2] ?? argv[++i];
    out[key] = typeof defaults[key] === 'number' ? Number(raw) : raw;
  }
  return out;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const round = (v, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

export function machineNote() {
  const [l1] = (globalThis.process?.platform === 'linux' ? readFileSync('/proc/loadavg', 'utf8').split(' ') : ['?']);
  return `node ${process.version}, ${nproc()} cores, load average ${l1} at start (other jobs share this machine; timings are perturbed)`;
}

function nproc() {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length;
  } catch {
    return '?';
  }
}

export function writeResult(name, data) {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}
