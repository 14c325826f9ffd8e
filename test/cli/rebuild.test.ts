/**
 * `trt-node rebuild` checks its tools and arguments before running cmake, each failure one line with the fix.
 * (The build itself is proven by .ci/run on the packed tarball, installed in a scratch app.)
 */
import { describe, it, expect, vi } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trtNode } from './helpers.js';
import { rebuildAddon } from '../../lib/cli/rebuild.js';

describe('trt-node rebuild', () => {
  it('without cmake on PATH: ERR_TOOLCHAIN naming cmake and how to install it', () => {
    const r = trtNode(['rebuild'], { PATH: '/nonexistent' });
    expect(r.lines).toEqual(['trt-node: ERR_TOOLCHAIN: cmake was not found on PATH; install cmake >= 3.18 (apt-get install cmake, brew install cmake)']);
    expect(r.status).toBe(1);
  });

  it('the library call throws the same TrtnError, before running anything', () => {
    vi.stubEnv('PATH', '/nonexistent');
    try {
      expect(() => rebuildAddon()).toThrow(expect.objectContaining({ code: 'ERR_TOOLCHAIN', message: expect.stringMatching(/^cmake was not found on PATH/) }));
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('without a C++ compiler: ERR_TOOLCHAIN naming what to install', () => {
    const r = trtNode(['rebuild'], { CXX: '/nonexistent/g++' });
    expect(r.lines).toEqual(['trt-node: ERR_TOOLCHAIN: no C++ compiler was found (CXX, c++, g++ or clang++); install one (apt-get install g++, xcode-select --install)']);
  });

  it('--tensorrt pointing at a folder without include/: ERR_INVALID_ARG naming it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'trtn-no-trt-'));
    const r = trtNode(['rebuild', '--tensorrt', empty]);
    expect(r.lines).toEqual([`trt-node: ERR_INVALID_ARG: --tensorrt ${empty} has no include/ folder; pass the TensorRT install that holds include/NvInfer.h and lib/libnvinfer.so`]);
  });
});
