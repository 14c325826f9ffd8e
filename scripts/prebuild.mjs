#!/usr/bin/env node
// `npm run prebuild`: produce prebuilds/<platform>-<arch>/tensorrt-node.napi.node with prebuildify: the
// portable addon, built with CUDA when the toolkit is there (static cudart, so it loads without a GPU) but
// without TensorRT, whose libraries a user's machine may lack, and without libjpeg for the same reason. A local `npm run build` against an installed
// TensorRT lands in build/Release, which the loader (node-gyp-build) prefers to prebuilds/.
// npm also runs this before `npm run build` (npm's rule for a script named "prebuild").
//
// prebuildify drives node-gyp; this script hands it a stand-in (this same file with --as-node-gyp) that
// compiles with cmake-js into a staging folder, so the local build/ is never touched.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), '..');
const stage = join(root, 'build-prebuild');

if (process.argv.includes('--as-node-gyp')) {
  const debug = process.argv.includes('--debug');
  const args = ['--no-install', 'cmake-js', 'compile', '-d', root, '--out', join(stage, 'build'),
    '--CDTRTN_WITH_TENSORRT=OFF', '--CDTRTN_WITH_JPEG=OFF', '--CDTRTN_BUILD_TRT_SIMULATOR=OFF', ...(debug ? ['--debug'] : [])];
  const r = spawnSync('npx', args, { stdio: 'inherit', cwd: root });
  process.exit(r.status ?? 1);
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
