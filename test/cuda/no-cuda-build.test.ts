// An addon built without CUDA (as on a machine with no toolkit) is real and buildable here: build one with
// TRTN_WITH_CUDA=OFF into a scratch folder, load it through the library's loader, and check every CUDA entry
// point says ERR_NO_CUDA (while the device query still answers). The scratch build is kept between runs
// (one per checkout) so a rerun only recompiles what changed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { packageRoot } from '../../lib/native/addon.js';

// Keyed by checkout, CMakeLists.txt and the list of native sources: CMake globs sources at configure time, so
// a new file needs a fresh folder, while edits to existing files are rebuilt incrementally.
const sourceList = readdirSync(join(packageRoot, 'native'), { recursive: true }).map(String).sort().join('\n');
const key = createHash('sha1').update(packageRoot).update(readFileSync(join(packageRoot, 'CMakeLists.txt'))).update(sourceList).digest('hex');
const scratch = join(tmpdir(), `trtn-nocuda-${key.slice(0, 12)}`);
const addonPath = join(scratch, 'Release', 'tensorrt_node.node');
let buildLog = '';

beforeAll(() => {
  const cmakeJs = join(packageRoot, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '-d', packageRoot, '--out', scratch, '--CDTRTN_WITH_CUDA=OFF', '--CDTRTN_WITH_TENSORRT=OFF'], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  buildLog = `${r.stdout}\n${r.stderr}`;
}, 250_000);

afterAll(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('an addon built without CUDA', () => {
  it('builds', () => {
    expect(existsSync(addonPath), buildLog.slice(-2000)).toBe(true);
  });

  it('loads, reports cuda: null, and every CUDA call throws ERR_NO_CUDA', async () => {
    vi.stubEnv('TRTN_ADDON_PATH', addonPath);
    vi.resetModules(); // a fresh loader (its cache is per module instance) that reads TRTN_ADDON_PATH
    const { nativeAddon } = await import('../../lib/native/addon.js');
    const { TrtnError } = await import('../../lib/errors.js');
    const cuda = await import('../../lib/cuda/index.js');

    expect(nativeAddon).toBeTypeOf('function');
    const build = nativeAddon().buildInfo();
    expect(build.cuda).toBeNull();
    expect(build.tensorrt).toBeNull();
    expect(nativeAddon().cudaInfo).toBeUndefined();

    const info = cuda.cudaInfo();
    expect(info).toMatchObject({ compiled: false, toolkitVersion: null, deviceCount: 0, devices: [], errorCode: 'ERR_NO_CUDA' });
    expect(info.reason).toMatch(/built without CUDA/);

    const calls: Array<[string, () => unknown]> = [
      ['DeviceBuffer.alloc', () => cuda.DeviceBuffer.alloc(16)],
      ['PinnedBuffer.alloc', () => cuda.PinnedBuffer.alloc(16)],
      ['new Stream', () => new cuda.Stream()],
      ['new Event', () => new cuda.Event()],
      ['cudaMemInfo', () => cuda.cudaMemInfo(0)],
      ['requireCudaDevice', () => cuda.requireCudaDevice(0)],
    ];
    for (const [name, call] of calls) {
      let caught: unknown;
      try {
        call();
      } catch (err) {
        caught = err;
      }
      expect(caught, name).toBeInstanceOf(TrtnError);
      expect((caught as InstanceType<typeof TrtnError>).code, name).toBe('ERR_NO_CUDA');
    }
    // Validation still comes first.
    expect(() => cuda.DeviceBuffer.alloc(0)).toThrow(/bytes/);
  });
});
