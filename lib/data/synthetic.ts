/** Deterministic generated data for latency runs: item i depends only on (seed, i). */
import { invalid, is } from '../engine/options.js';
import { ItemDataset } from './dataset.js';
import { createRandom, mixSeed } from './random.js';
import type { TransformStep } from './transforms.js';

export interface SyntheticOptions {
  /** Item shape [C, H, W] (or [H, W] for one channel). */
  shape: readonly number[];
  count?: number;
  seed?: number;
  /** 'uniform' in [0, 1) or 'normal' (mean 0, std 1). */
  distribution?: 'uniform' | 'normal';
  transforms?: readonly TransformStep[];
}

export function synthetic(options: SyntheticOptions): ItemDataset {
  const { shape, count = 256, seed = 0, distribution = 'uniform' } = options ?? ({} as SyntheticOptions);
  if (!Array.isArray(shape) || (shape.length !== 2 && shape.length !== 3) || !shape.every(is.posInt)) {
    throw invalid('synthetic shape', '[C, H, W] or [H, W] of positive integers', Array.isArray(shape) ? `[${shape.join(', ')}]` : shape);
  }
  if (!is.posInt(count)) throw invalid('synthetic count', 'a positive integer', count);
  if (!Number.isInteger(seed)) throw invalid('synthetic seed', 'an integer', seed);
  if (!is.oneOf(distribution, ['uniform', 'normal'] as const)) throw invalid('synthetic distribution', "'uniform' or 'normal'", distribution);
  const [channels, height, width] = (shape.length === 2 ? [1, ...shape] : shape) as [number, number, number];
  const size = channels * height * width;
  return new ItemDataset({
    name: `synthetic:${channels}x${height}x${width}`,
    store: {
      format: { channels, height, width, layout: 'CHW', dtype: 'float32' },
      length: count,
      get: (i) => {
        const random = createRandom(mixSeed(seed, i));
        const item = new Float32Array(size);
        if (distribution === 'uniform') {
          for (let k = 0; k < size; k++) item[k] = random();
        } else {
          for (let k = 0; k < size; k += 2) {
            // Box-Muller: two independent normals from two uniforms (1 - u keeps log away from 0).
            const r = Math.sqrt(-2 * Math.log(1 - random()));
            const theta = 2 * Math.PI * random();
            item[k] = r * Math.cos(theta);
            if (k + 1 < size) item[k + 1] = r * Math.sin(theta);
          }
        }
        return item;
      },
    },
    transforms: options.transforms ?? [],
  });
}
