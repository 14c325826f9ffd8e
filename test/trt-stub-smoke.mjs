#!/usr/bin/env node
// Run by /work/shared/tools/trt-compat-check.sh after building the addon against a TensorRT release's real headers
// with stub libraries (every factory returns null, version getters return the header's version):
//   TRTN_ADDON_PATH=<built .node> LD_LIBRARY_PATH=<stubs> node test/trt-stub-smoke.mjs
// It proves the addon reports the version it was compiled against and that every TensorRT entry point turns a
// null factory (or a missing GPU) into a typed TrtnError instead of crashing. Plain Node ESM, no vitest: it imports
// the compiled library from dist/ (built here with `npx tsc -p tsconfig.json` when dist/ is missing) and the addon
// through TRTN_ADDON_PATH. Exits non-zero on the first failure.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = process.env.TRTN_ADDON_PATH;
let failures = 0;
const check = (ok, what) => {
  console.log(`   ${ok ? 'ok' : 'FAIL'}: ${what}`);
  if (!ok) failures++;
};

if (!addonPath) {
  console.error('set TRTN_ADDON_PATH to the built .node file');
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'backends', 'tensorrt', 'index.js'))) {
  console.log('   building dist/ (npx tsc -p tsconfig.json)');
  execFileSync('npx', ['--no-install', 'tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
}

const addon = createRequire(import.meta.url)(addonPath);
const build = addon.buildInfo();
check(typeof build.tensorrt === 'string' && /^\d+\.\d+\.\d+$/.test(build.tensorrt), `buildInfo().tensorrt = ${build.tensorrt}`);
const info = addon.trtRuntimeInfo();
check(info.compiled === build.tensorrt, `trtRuntimeInfo().compiled = ${info.compiled}`);
check(info.loadedMajor === info.compiledMajor && info.loaded.startsWith(`${info.compiledMajor}.`), `trtRuntimeInfo().loaded = ${info.loaded} (stub getInferLibVersion)`);
check(info.implicitPrecision === info.compiledMajor < 11, `implicitPrecision = ${info.implicitPrecision} for TensorRT ${info.compiledMajor}`);
check(info.simulator === false, 'trtRuntimeInfo().simulator is false for the real adapter');
const probe = await addon.trtProbe(true).promise;
check(probe.runtime === false, `trtProbe(true) (a job, off the JS thread): createInferRuntime null -> runtime=${probe.runtime}`);

const { TrtnError } = await import(join(root, 'dist', 'errors.js'));
// Through lib/backends so the explicit-precision converters (quantizer, FP16) are registered as in the public API.
await import(join(root, 'dist', 'backends', 'index.js'));
const trt = await import(join(root, 'dist', 'backends', 'tensorrt', 'index.js'));
const { buildEngine, loadEngine } = await import(join(root, 'dist', 'engine', 'api.js'));
const onnx = join(root, 'test', 'fixtures', 'models', 'fmnist_cnn.onnx');

const availability = await trt.tensorRtAvailability();
check(availability.available === false && typeof availability.reason === 'string' && availability.reason.length > 0,
  `availability: ${availability.reason}`);
check(trt.trtRuntimeInfo().available === true, 'trtRuntimeInfo() through the library');

async function expectRejects(promise, codes, what) {
  try {
    await promise;
    check(false, `${what} resolved; expected ${codes.join(' | ')}`);
  } catch (err) {
    const ok = err instanceof TrtnError && codes.includes(err.code);
    check(ok, `${what} -> ${err?.code}: ${err?.message}`);
  }
}

await expectRejects(buildEngine(onnx, { precision: 'fp32', backend: 'tensorrt' }), ['ERR_BACKEND_UNAVAILABLE'], "buildEngine(backend 'tensorrt')");
await expectRejects(loadEngine(new Uint8Array(64).fill(7), { backend: 'tensorrt' }), ['ERR_BACKEND_UNAVAILABLE'], "loadEngine(backend 'tensorrt')");
// Past the availability check, straight into the native thread: no GPU or a null factory must still be typed.
await expectRejects(trt.buildTensorRtEngine(onnx, { precision: 'fp16' }), ['ERR_NO_CUDA_DEVICE', 'ERR_NO_TENSORRT'], 'native build (fp16)');
await expectRejects(trt.buildTensorRtEngine(onnx, { precision: 'fp32', timingCache: join(root, 'build', 'no-such-dir', 'cache') }), ['ERR_NO_CUDA_DEVICE', 'ERR_NO_TENSORRT'], 'native build (fp32, timing cache)');
await expectRejects(trt.loadTensorRtEngine(new Uint8Array(64).fill(7), {}), ['ERR_NO_CUDA_DEVICE', 'ERR_NO_TENSORRT'], 'native deserialize');
const direct = addon.trtBuild({ onnxPath: onnx, flags: [], stronglyTyped: false, device: 0, maxBatch: 8, logLevel: 2 });
await expectRejects(direct.promise, ['ERR_NO_CUDA_DEVICE', 'ERR_NO_TENSORRT'], 'addon.trtBuild');

if (failures > 0) {
  console.log(`   ${failures} check(s) failed`);
  process.exit(1);
}
console.log(`   smoke: TensorRT ${build.tensorrt} stub checks passed`);
