import { describe, expect, it } from 'vitest';
import { parseInputSetting, resolveStudyConfig, PRESETS } from '../../lib/bench/config.js';
import { configFromFlags } from '../../lib/cli/bench.js';
import { isTrtnError } from '../../lib/errors.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isTrtnError(err) ? err.code : 'not a TrtnError';
  }
  return undefined;
}

describe('study config', () => {
  it('knows the study input settings and CxHxW', () => {
    expect(parseInputSetting('cifar10-48')).toEqual([3, 48, 48]);
    expect(parseInputSetting('catsdogs-128')).toEqual([3, 128, 128]);
    expect(parseInputSetting('fmnist-28')).toEqual([1, 28, 28]);
    expect(parseInputSetting('3x32x40')).toEqual([3, 32, 40]);
    expect(code(() => parseInputSetting('3x32'))).toBe('ERR_INVALID_ARG');
    expect(code(() => parseInputSetting('imagenet'))).toBe('ERR_INVALID_ARG');
  });

  it('fills the defaults: batch 8,16,32,64, precisions base,fp32,fp16,int8, backend auto', () => {
    const c = resolveStudyConfig({ models: ['vgg16'] });
    // The default input is a shape: the data there is synthetic, not a dataset.
    expect(c.suites).toEqual([{ input: '3x48x48', models: ['vgg16'] }]);
    expect(c.batchSizes).toEqual([8, 16, 32, 64]);
    // trtexec's measurement defaults.
    expect(c).toMatchObject({ warmupMs: 200, durationMs: 3000, iterations: 10, maxCv: 0.1, remeasures: 1, enginePerBatch: true });
    expect(c.streams).toBeGreaterThanOrEqual(1);
    expect(c.precisions).toEqual(['base', 'fp32', 'fp16', 'int8']);
    expect(c.backend).toBe('auto');
  });

  it('resolves the study-cpu preset: fixtures on fmnist-28 with Fashion-MNIST data, generated models at 3x48x48', () => {
    const c = resolveStudyConfig({ preset: 'study-cpu' });
    expect(c.suites.map((s) => s.input)).toEqual(['fmnist-28', '3x48x48']);
    expect(c.suites[0]!.models.every((m) => m.startsWith('test/fixtures/models/fmnist_'))).toBe(true);
    expect(c.suites[0]!.calibration).toBe('fashion-mnist:train');
    expect(c.suites[0]!.calibrationCount).toBe(512);
    expect(c.suites[0]!.accuracy).toBe('fashion-mnist:test');
    expect(c.suites[1]!.models).toEqual(['vgg16', 'resnet50', 'mobilenet_v1']);
    expect(c.durationMs).toBe(3000);
    // The quick preset: same matrix, fewer batch sizes and shorter timed runs.
    const quick = resolveStudyConfig({ preset: 'study-cpu-quick' });
    expect(quick.suites).toEqual(c.suites);
    expect(quick).toMatchObject({ batchSizes: PRESETS['study-cpu-quick']!.batchSizes, durationMs: 1000 });
    // Flags override the preset's top-level settings and keep its suites.
    expect(resolveStudyConfig({ preset: 'study-cpu', iterations: 2, batchSizes: [4, 1, 4] })).toMatchObject({ iterations: 2, batchSizes: [1, 4] });
  });

  it('rejects bad values naming the option', () => {
    expect(code(() => resolveStudyConfig({}))).toBe('ERR_INVALID_ARG');
    expect(code(() => resolveStudyConfig({ preset: 'nope' }))).toBe('ERR_INVALID_ARG');
    expect(() => resolveStudyConfig({ models: ['vgg16'], precisions: ['int4' as 'int8'] })).toThrow(/precisions/);
    expect(() => resolveStudyConfig({ models: ['vgg16'], batchSizes: [0] })).toThrow(/batchSizes/);
    expect(() => resolveStudyConfig({ models: ['vgg16'], backend: 'cuda' as 'auto' })).toThrow(/backend/);
    expect(() => resolveStudyConfig({ suites: [{ input: 'fmnist-28', models: [] }] })).toThrow(/suites\[0\]\.models/);
    expect(() => resolveStudyConfig({ models: ['vgg16'], iterations: 0 })).toThrow(/iterations/);
    expect(() => resolveStudyConfig({ models: ['vgg16'], durationMs: -1 })).toThrow(/durationMs/);
    expect(() => resolveStudyConfig({ models: ['vgg16'], maxCv: 0 })).toThrow(/maxCv/);
    expect(() => resolveStudyConfig({ models: ['vgg16'], streams: 0 })).toThrow(/streams/);
  });

  it('turns CLI flags into a config, flags over the preset', async () => {
    const c = await configFromFlags({ model: ['cnn,vgg16'], input: '1x28x28', batchSizes: '1,4', precisions: 'base,int8', iterations: '2', calibCount: '64', warmup: '50', duration: '0.5', maxCv: '5%', streams: '3' });
    expect(resolveStudyConfig(c)).toMatchObject({
      suites: [{ input: '1x28x28', models: ['cnn', 'vgg16'], calibrationCount: 64 }],
      batchSizes: [1, 4],
      precisions: ['base', 'int8'],
      iterations: 2,
      warmupMs: 50,
      durationMs: 500,
      maxCv: 0.05,
      streams: 3,
    });
    await expect(configFromFlags({ model: ['cnn'], iterations: 'ten' })).rejects.toThrow(/--iterations/);
    await expect(configFromFlags({ config: '/nonexistent/study.json' })).rejects.toMatchObject({ code: 'ERR_IO', details: { file: '/nonexistent/study.json' } });
  });
});
