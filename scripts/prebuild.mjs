#!/usr/bin/env node
// `npm run prebuildify` (npm runs it before `npm pack` as `prepack`): produce
// prebuilds/<platform>-<arch>/tensorrt-node.napi.node with prebuildify: the portable addon, built with CUDA when the
// toolkit is there (static cudart, so it loads without a GPU) but without TensorRT, whose libraries a user's machine
// may lack, and without libjpeg for the same reason. A local build (`npm run build`, `npx trt-node rebuild`) lands
// in build/Release, which the loader (node-gyp-build) prefers to prebuilds/.
//
// prebuildify drives node-gyp; this script hands it a stand-in (this same file with --as-node-gyp) that compiles
// with the package's own cmake driver (dist/cli/rebuild.js, the one `trt-node rebuild` uses) into a staging folder,
// so the local build/ is never touched. Needs `npm run build:ts` first (npm's prepare has run it).
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), '..');
const stage = join(root, 'build-prebuild');

if (process.argv.includes('--as-node-gyp')) {
  const debug = process.argv.includes('--debug');
  const { rebuildAddon } = await import(pathToFileURL(join(root, 'dist', 'cli', 'rebuild.js')).href);
  try {
    rebuildAddon({ withTensorrt: false, withJpeg: false, simulator: false, debug, buildDir: join(stage, 'build', 'cmake'), outDir: join(stage, 'build', debug ? 'Debug' : 'Release'), output: 'ignore' });
  } catch (err) {
    console.error(`prebuild: ${err.code ?? ''} ${err.message}`);
    process.exit(1);
  }
  process.exit(0);
}

rmSync(join(stage, 'build', 'Release'), { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(join(stage, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version }));
const shim = join(stage, 'node-gyp-shim.sh');
writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${self}" --as-node-gyp "$@"\n`, { mode: 0o755 });

const prebuildify = createRequire(import.meta.url)('prebuildify');
prebuildify({ cwd: stage, out: root, napi: true, strip: true, nodeGyp: shim, targets: [] }, (err) => {
  if (err) {
    console.error(`prebuild failed: ${err.message}`);
    process.exit(1);
  }
  console.log(`prebuild: wrote ${join(root, 'prebuilds')}`);
});
