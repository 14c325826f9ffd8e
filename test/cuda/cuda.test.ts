// The CUDA layer on whatever machine runs the tests. Here (CUDA 13 toolkit, no GPU, no driver) every CUDA call
// really fails; these tests check it fails the documented way. On a GPU machine the no-device cases are skipped
// and test/gpu/cuda.test.ts covers the working paths.
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../../lib/native/addon.js';
import { TrtnError } from '../../lib/errors.js';
import { cudaDevices, cudaInfo, cudaMemInfo, DeviceBuffer, Event, formatCudaVersion, PinnedBuffer, requireCudaDevice, Stream } from '../../lib/cuda/index.js';
import { cudaNative } from '../../lib/cuda/native.js';

const info = cudaInfo();
const noDevice = info.deviceCount === 0;

function thrown(fn: () => unknown): TrtnError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TrtnError);
    return err as TrtnError;
  }
  throw new Error('expected a TrtnError, nothing was thrown');
}

describe('addon and build info', () => {
  it('loads and reports the CUDA toolkit it was compiled with', () => {
    const build = nativeAddon().buildInfo();
    expect(build.napiVersion).toBe(8);
    // This machine has the CUDA 13 toolkit, so the build compiled the CUDA layer in.
    expect(build.cuda).toMatch(/^13\.\d+$/);
    expect(info.compiled).toBe(true);
    expect(info.toolkitVersion).toBe(build.cuda);
    expect(typeof cudaNative().CudaDeviceBuffer).toBe('function');
  });

  it('formats CUDA version integers as major.minor', () => {
    expect(formatCudaVersion(13000)).toBe('13.0');
    expect(formatCudaVersion(12080)).toBe('12.8');
    expect(formatCudaVersion(11040)).toBe('11.4');
    expect(formatCudaVersion(0)).toBeNull();
  });

  it('reports the runtime version linked in, matching the toolkit major version', () => {
    expect(info.runtimeVersion).not.toBeNull();
    expect(info.runtimeVersion!.split('.')[0]).toBe(info.toolkitVersion!.split('.')[0]);
  });
});

describe.runIf(noDevice)('device query without a GPU', () => {
  it('reports 0 devices with the reason instead of throwing', () => {
    expect(info.deviceCount).toBe(0);
    expect(info.devices).toEqual([]);
    expect(cudaDevices()).toEqual([]);
    expect(info.errorCode).toBe('ERR_NO_CUDA_DEVICE');
    expect(info.cudaError).toMatch(/^cudaError/);
    expect(info.reason).toContain(info.cudaError);
    expect(info.fix).toBeTruthy();
  });

  it('says there is no driver when cudaDriverGetVersion reports none', () => {
    if (info.driverVersion !== null) return; // a driver without a GPU: the reason is the CUDA error itself
    expect(info.reason).toMatch(/no NVIDIA driver/);
    // Without libcuda the runtime reports the driver as insufficient.
    expect(info.cudaError).toBe('cudaErrorInsufficientDriver');
  });

  it('cudaInfo({ freeMemory: true }) also works with no device', () => {
    expect(cudaInfo({ freeMemory: true }).deviceCount).toBe(0);
  });
});

describe.runIf(noDevice)('creating CUDA objects without a GPU', () => {
  const cases: Array<[string, () => unknown]> = [
    ['DeviceBuffer.alloc', () => DeviceBuffer.alloc(1024)],
    ['DeviceBuffer.from', () => DeviceBuffer.from(new Float32Array([1, 2, 3]))],
    ['PinnedBuffer.alloc', () => PinnedBuffer.alloc(1024)],
    ['new Stream', () => new Stream()],
    ['new Event', () => new Event({ device: 0 })],
    ['cudaMemInfo', () => cudaMemInfo(0)],
    ['requireCudaDevice', () => requireCudaDevice(0)],
  ];
  for (const [name, create] of cases) {
    it(`${name} throws ERR_NO_CUDA_DEVICE naming the CUDA error`, () => {
      const err = thrown(create);
      expect(err.code).toBe('ERR_NO_CUDA_DEVICE');
      expect(err.message).toContain(info.cudaError);
    });
  }

  it('names the failing CUDA call', () => {
    expect(thrown(() => PinnedBuffer.alloc(4096)).message).toMatch(/^cudaHostAlloc\(4096 bytes\) failed: cudaError\w+ \(/);
    expect(thrown(() => DeviceBuffer.alloc(4096, { device: 1 })).message).toMatch(/^cudaGetDevice failed: cudaError\w+/);
  });

  it('the native classes also throw a TrtnError when called directly', () => {
    const native = cudaNative();
    const err = thrown(() => new native.CudaDeviceBuffer(16, 0));
    expect(err.code).toBe('ERR_NO_CUDA_DEVICE');
    expect(thrown(() => native.cudaBenchMemcpy('h2d', 1024, 1, 0)).code).toBe('ERR_NO_CUDA_DEVICE');
    expect(thrown(() => native.cudaBenchEventRoundTrip(1, 0)).code).toBe('ERR_NO_CUDA_DEVICE');
  });
});

describe.runIf(info.compiled)('a CUDA call that fails (not for want of a device) is ERR_CUDA', () => {
  // testCudaFailure is a test hook: cudaRuntimeGetVersion(nullptr) really fails with cudaErrorInvalidValue on any
  // machine (it needs no driver), and goes through the addon's CUDA error reporting: TRTN_CHECK_CUDA on the JS
  // thread, DescribeCudaError carried from a native thread. Only the no-device errors map to ERR_NO_CUDA_DEVICE.
  const expected = /^cudaRuntimeGetVersion\(nullptr\) failed: cudaErrorInvalidValue \(invalid argument\)$/;

  it('on the JS thread: a TrtnError naming the call, the CUDA error name and its text', () => {
    const err = thrown(() => cudaNative().testCudaFailure(false));
    expect(err.code).toBe('ERR_CUDA');
    expect(err.message).toMatch(expected);
  });

  it('on a native thread: the promise rejects with the same error', async () => {
    const err = await cudaNative().testCudaFailure(true).promise.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TrtnError);
    expect((err as TrtnError).code).toBe('ERR_CUDA');
    expect((err as TrtnError).message).toMatch(expected);
  });
});

describe('argument validation happens before any CUDA call', () => {
  // On this machine any CUDA call fails with ERR_NO_CUDA_DEVICE, so getting ERR_INVALID_ARG proves that no
  // CUDA call was made; on a GPU machine the same inputs must be rejected the same way.
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['zero bytes', () => DeviceBuffer.alloc(0), /bytes/],
    ['negative bytes', () => DeviceBuffer.alloc(-8), /bytes but received -8/],
    ['fractional bytes', () => PinnedBuffer.alloc(1.5), /bytes but received 1.5/],
    ['bytes as a string', () => PinnedBuffer.alloc('1MiB' as unknown as number), /bytes/],
    ['negative device', () => DeviceBuffer.alloc(16, { device: -1 }), /device/],
    ['device as a string', () => new Stream({ device: '0' as unknown as number }), /device/],
    ['options not an object', () => new Event(3 as unknown as { device: number }), /options/],
    ['elapsedTime of non-events', () => Event.elapsedTime({} as Event, {} as Event), /start/],
    ['DeviceBuffer.from a number', () => DeviceBuffer.from(42 as unknown as Uint8Array), /data/],
    ['cudaMemInfo of device 1.5', () => cudaMemInfo(1.5), /device/],
  ];
  for (const [name, call, message] of cases) {
    it(`rejects ${name} with ERR_INVALID_ARG`, () => {
      const err = thrown(call);
      expect(err.code).toBe('ERR_INVALID_ARG');
      expect(err.message).toMatch(message);
    });
  }

  it('the native layer re-checks its arguments (raw addon calls cannot crash it)', () => {
    const native = cudaNative();
    expect(thrown(() => new native.CudaDeviceBuffer(-1, 0)).code).toBe('ERR_INVALID_ARG');
    expect(thrown(() => new native.CudaPinnedBuffer(Number.NaN)).code).toBe('ERR_INVALID_ARG');
    expect(thrown(() => new native.CudaStream(2 ** 40)).code).toBe('ERR_INVALID_ARG');
    expect(thrown(() => native.cudaBenchMemcpy('sideways' as 'h2d', 1, 1, 0)).code).toBe('ERR_INVALID_ARG');
    expect(thrown(() => native.cudaEventElapsedTime({} as never, {} as never)).message).toMatch(/Expected an Event for start/);
  });

  it('accepts valid arguments and gets as far as CUDA', () => {
    // The same calls with valid arguments reach CUDA: no device here, a real allocation on a GPU.
    for (const create of [() => DeviceBuffer.alloc(16, { device: 0 }), () => PinnedBuffer.alloc(16), () => new Stream({})]) {
      if (noDevice) {
        expect(thrown(create).code).toBe('ERR_NO_CUDA_DEVICE');
      } else {
        create().dispose();
      }
    }
  });
});
