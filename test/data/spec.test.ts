import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetFromSpec, parseDataSpec } from '../../lib/data/spec.js';
import { npyBytes, rejection, tempDir, thrown } from './helpers.js';

describe('data specs', () => {
  it('parses every form', () => {
    expect(parseDataSpec('fashion-mnist')).toEqual({ kind: 'fashion-mnist' });
    expect(parseDataSpec('fashion-mnist:train@/data/fm')).toEqual({ kind: 'fashion-mnist', split: 'train', dir: '/data/fm' });
    expect(parseDataSpec('fashion-mnist@/x')).toEqual({ kind: 'fashion-mnist', dir: '/x' });
    expect(parseDataSpec('cifar10:/data/cifar-10-batches-bin:test')).toEqual({ kind: 'cifar10', dir: '/data/cifar-10-batches-bin', split: 'test' });
    expect(parseDataSpec('cifar10:/data/c')).toEqual({ kind: 'cifar10', dir: '/data/c' });
    expect(parseDataSpec('images:/data/cats_vs_dogs')).toEqual({ kind: 'images', dir: '/data/cats_vs_dogs' });
    expect(parseDataSpec('npy:/a/x.npy,labels=/a/y.npy')).toEqual({ kind: 'npy', file: '/a/x.npy', labels: '/a/y.npy' });
    expect(parseDataSpec('synthetic:3x224x224,n=64,seed=3,dist=normal')).toEqual({ kind: 'synthetic', shape: [3, 224, 224], count: 64, seed: 3, distribution: 'normal' });
  });

  it('rejects a bad spec with ERR_INVALID_ARG quoting it', () => {
    for (const bad of ['mnist', 'fashion-mnist:val', 'synthetic:3x0x2', 'synthetic:3x2x2,n=0', 'synthetic:3x2x2,k=1', 'cifar10:', '']) {
      const err = thrown(() => parseDataSpec(bad));
      expect(err.code).toBe('ERR_INVALID_ARG');
      expect(err.message).toContain(JSON.stringify(bad));
    }
  });

  it('builds datasets from specs', async () => {
    const fm = await datasetFromSpec('fashion-mnist');
    expect(fm.name).toMatch(/^fashion-mnist:test/);
    expect([10000, 600]).toContain(fm.length); // Debian's full set, or the subset fixture where it is absent
    const syn = await datasetFromSpec('synthetic:3x4x4,n=5');
    expect([syn.length, ...syn.itemShape]).toEqual([5, 3, 4, 4]);
    const { dir, cleanup } = await tempDir();
    try {
      await writeFile(join(dir, 'x.npy'), npyBytes('|u1', [2, 3, 3], new Uint8Array(18)));
      const n = await datasetFromSpec(`npy:${join(dir, 'x.npy')}`);
      expect(n.itemShape).toEqual([1, 3, 3]);
      expect((await rejection(datasetFromSpec(`images:${join(dir, 'none')}`))).code).toBe('ERR_IO');
    } finally {
      await cleanup();
    }
  });
});
