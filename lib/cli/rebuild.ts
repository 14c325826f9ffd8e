import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { packageRoot } from '../native/addon.js';
import { TrtnError } from '../errors.js';
import type { NativeBuildInfo } from '../native/addon.js';

export interface RebuildOptions {
  /** TensorRT install (include/ and lib/ under it); else $TENSORRT_ROOT, else FindTensorRT's system places. */
  tensorrt?: string;
  /** Compile TensorRT in when found (default true); the portable prebuilt passes false. */
  withTensorrt?: boolean;
  /** Compile the libjpeg decoder in when found (default true). */
  withJpeg?: boolean;
  /** The test-only TensorRT simulator addon (build/sim/): default, CMake's choice (in a checkout without TensorRT). */
  simulator?: boolean;
  /** cmake's binary folder (default build/cmake in the package). */
  buildDir?: string;
  /** Where tensorrt_node.node goes (default build/Release, which the loader prefers to prebuilds/). */
  outDir?: string;
  debug?: boolean;
  /** cmake's own output: 'inherit' shows it, 'ignore' shows it only when a step fails. */
  output?: 'inherit' | 'ignore';
}

function onPath(command: string): boolean {
  if (command.includes('/')) return existsSync(command);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

function toolchainError(what: string, fix: string): TrtnError {
  return new TrtnError('ERR_TOOLCHAIN', `${what}; ${fix}`, { fix });
}

/** The C++ compiler cmake would pick: $CXX, else the first of c++, g++, clang++ on PATH. */
function findCompiler(): string | undefined {
  const cxx = process.env.CXX?.split(' ')[0];
  if (cxx) return onPath(cxx) ? cxx : undefined;
  return ['c++', 'g++', 'clang++'].find(onPath);
}

function run(step: string, args: string[], output: 'inherit' | 'ignore', env: NodeJS.ProcessEnv): string {
  const r = spawnSync('cmake', args, { cwd: packageRoot, env, encoding: 'utf8', stdio: ['ignore', output === 'inherit' ? 'inherit' : 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (output === 'inherit' && r.stderr) process.stderr.write(r.stderr);
  if (r.error) throw toolchainError(`cmake could not be started (${r.error.message})`, 'install cmake >= 3.18 (apt-get install cmake)');
  if (r.status !== 0) {
    const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (output === 'ignore') process.stderr.write(log.split('\n').slice(-40).join('\n'));
    const first = log.split('\n').find((l) => /error/i.test(l))?.trim();
    throw toolchainError(`cmake ${step} of the addon failed${first ? `: ${first}` : ''}`, 'see the cmake output above');
  }
  return r.stdout ?? '';
}

/**
 * Compile the addon from the package's own sources with cmake alone (no cmake-js, no downloads): the N-API
 * headers come from node-api-headers and node-addon-api, both dependencies, so this works inside node_modules.
 * Returns the .node file and what it was compiled with.
 */
export function rebuildAddon(options: RebuildOptions = {}): { file: string; build: NativeBuildInfo } {
  if (process.platform === 'win32') {
    throw new TrtnError('ERR_UNSUPPORTED', 'trt-node rebuild does not support Windows (the addon needs node.lib there); build with `npx cmake-js compile` in the package folder');
  }
  if (!onPath('cmake')) throw toolchainError('cmake was not found on PATH', 'install cmake >= 3.18 (apt-get install cmake, brew install cmake)');
  if (!findCompiler()) throw toolchainError('no C++ compiler was found (CXX, c++, g++ or clang++)', 'install one (apt-get install g++, xcode-select --install)');
  const tensorrt = options.tensorrt ?? process.env.TENSORRT_ROOT;
  if (options.tensorrt !== undefined && !existsSync(join(options.tensorrt, 'include'))) {
    throw new TrtnError('ERR_INVALID_ARG', `--tensorrt ${options.tensorrt} has no include/ folder; pass the TensorRT install that holds include/NvInfer.h and lib/libnvinfer.so`, { file: options.tensorrt });
  }
  const require = createRequire(join(packageRoot, 'package.json'));
  const napiInclude = (require('node-api-headers') as { include_dir: string }).include_dir;
  const buildDir = resolve(options.buildDir ?? join(packageRoot, 'build', 'cmake'));
  const outDir = resolve(options.outDir ?? join(packageRoot, 'build', options.debug ? 'Debug' : 'Release'));
  // A fresh configure each time: FindTensorRT caches what it found, and a new --tensorrt must win.
  rmSync(join(buildDir, 'CMakeCache.txt'), { force: true });
  mkdirSync(buildDir, { recursive: true });
  const args = [
    '-S', packageRoot, '-B', buildDir,
    `-DCMAKE_BUILD_TYPE=${options.debug ? 'Debug' : 'Release'}`,
    `-DCMAKE_JS_INC=${napiInclude}`,
    `-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=${outDir}`,
    `-DTRTN_WITH_TENSORRT=${options.withTensorrt === false ? 'OFF' : 'ON'}`,
    `-DTRTN_WITH_JPEG=${options.withJpeg === false ? 'OFF' : 'ON'}`,
    ...(tensorrt ? [`-DTENSORRT_ROOT=${resolve(tensorrt)}`] : []),
    ...(options.simulator !== undefined ? [`-DTRTN_BUILD_TRT_SIMULATOR=${options.simulator ? 'ON' : 'OFF'}`] : []),
    // Node provides the N-API symbols at load time; macOS's linker must be told to leave them unresolved.
    ...(process.platform === 'darwin' ? ['-DCMAKE_SHARED_LINKER_FLAGS=-undefined dynamic_lookup'] : []),
  ];
  const output = options.output ?? 'inherit';
  const env = { ...process.env, ...(tensorrt ? { TENSORRT_ROOT: resolve(tensorrt) } : {}) };
  const configured = run('configure', args, output, env);
  run('build', ['--build', buildDir, '--parallel', String(Math.max(1, cpus().length))], output, env);
  const file = join(outDir, 'tensorrt_node.node');
  // Load it in a child process: this process may already hold another copy of the addon.
  const probe = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(file)}).buildInfo()))`], { encoding: 'utf8', env });
  if (probe.status !== 0) {
    throw new TrtnError('ERR_NATIVE_LOAD', `the rebuilt addon ${file} does not load: ${(probe.stderr || '').trim().split('\n')[0]}`, { file });
  }
  const build = JSON.parse(probe.stdout) as NativeBuildInfo;
  if (options.tensorrt !== undefined && !build.tensorrt) {
    const why = /tensorrt-node: building without TensorRT[^\n]*/.exec(configured)?.[0] ?? 'cmake did not find it';
    throw new TrtnError('ERR_NO_TENSORRT', `the addon was rebuilt without TensorRT from ${options.tensorrt} (${why.replace('tensorrt-node: ', '')}); it needs include/NvInfer.h, lib/libnvinfer.so and the CUDA toolkit (nvcc on PATH or CUDAToolkit_ROOT)`, { file: options.tensorrt });
  }
  return { file, build };
}

/** `trt-node rebuild [--tensorrt <dir>]`: recompile the addon in place, e.g. inside node_modules against your TensorRT. */
export function registerRebuild(program: Command): Command {
  return program
    .command('rebuild')
    .description('recompile the native addon in this package with cmake (against your TensorRT with --tensorrt); needs cmake and a C++ compiler')
    .option('--tensorrt <dir>', 'TensorRT install with include/ and lib/ (default: $TENSORRT_ROOT, then the usual system places)')
    .option('--no-jpeg', 'leave out the libjpeg decoder even where its headers are found')
    .option('--debug', 'a debug build (build/Debug)')
    .option('--quiet', "show cmake's output only when a step fails")
    .action((o: { tensorrt?: string; jpeg: boolean; debug?: boolean; quiet?: boolean }) => {
      const { file, build } = rebuildAddon({ tensorrt: o.tensorrt, withJpeg: o.jpeg, debug: o.debug, output: o.quiet ? 'ignore' : 'inherit' });
      process.stderr.write(`trt-node: built ${file} (CUDA ${build.cuda ?? 'none'}, TensorRT ${build.tensorrt ?? 'none'}, ${build.jpeg ?? 'no libjpeg'})\n`);
    });
}
