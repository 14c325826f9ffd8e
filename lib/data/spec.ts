/** Data spec strings for the CLI: 'fashion-mnist:test', 'cifar10:/data/cifar:test', 'images:/data/cats', 'npy:x.npy,labels=y.npy', 'synthetic:3x224x224,n=64'. */
import { TrtnError } from '../errors.js';
import { cifar10 } from './cifar10.js';
import { fashionMnist } from './fashion-mnist.js';
import { imageFolder, STUDY_CATS_VS_DOGS_SIZE, type ImageFolderOptions } from './image-folder.js';
import { npy } from './npy.js';
import { synthetic } from './synthetic.js';
import type { ItemDataset } from './dataset.js';

export type DataSpec =
  | { kind: 'fashion-mnist'; split?: 'train' | 'test'; dir?: string }
  | { kind: 'cifar10'; dir: string; split?: 'train' | 'test' }
  | { kind: 'images'; dir: string }
  | { kind: 'npy'; file: string; labels?: string }
  | { kind: 'synthetic'; shape: number[]; count?: number; seed?: number; distribution?: 'uniform' | 'normal' };

export const DATA_SPEC_FORMS = [
  'fashion-mnist[:train|test][@<dir>]',
  'cifar10:<dir>[:train|test]',
  'images:<dir>',
  'npy:<file>[,labels=<file>]',
  'synthetic:<CxHxW>[,n=<count>][,seed=<int>][,dist=uniform|normal]',
];

function badSpec(spec: unknown, why?: string): TrtnError {
  return new TrtnError('ERR_INVALID_ARG', `Invalid data spec ${JSON.stringify(spec)}${why ? ` (${why})` : ''}; expected one of: ${DATA_SPEC_FORMS.join(', ')}`, { spec });
}

export function parseDataSpec(spec: string): DataSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw badSpec(spec);
  let m = /^fashion-mnist(?::(train|test))?(?:@(.+))?$/.exec(spec);
  if (m) return { kind: 'fashion-mnist', ...(m[1] ? { split: m[1] as 'train' | 'test' } : {}), ...(m[2] ? { dir: m[2] } : {}) };
  m = /^cifar10:(.+?)(?::(train|test))?$/.exec(spec);
  if (m) return { kind: 'cifar10', dir: m[1]!, ...(m[2] ? { split: m[2] as 'train' | 'test' } : {}) };
  m = /^images:(.+)$/.exec(spec);
  if (m) return { kind: 'images', dir: m[1]! };
  m = /^npy:([^,]+)(?:,labels=(.+))?$/.exec(spec);
  if (m) return { kind: 'npy', file: m[1]!, ...(m[2] ? { labels: m[2] } : {}) };
  m = /^synthetic:([0-9x]+)((?:,[a-z]+=[^,]*)*)$/.exec(spec);
  if (m) {
    const shape = m[1]!.split('x').map(Number);
    if (shape.length < 2 || shape.length > 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) throw badSpec(spec, `shape '${m[1]}' must be CxHxW or HxW`);
    const out: Extract<DataSpec, { kind: 'synthetic' }> = { kind: 'synthetic', shape };
    for (const pair of m[2]!.split(',').filter(Boolean)) {
      const [key, value = ''] = pair.split('=') as [string, string?];
      if (key === 'n' && /^[1-9][0-9]*$/.test(value)) out.count = Number(value);
      else if (key === 'seed' && /^-?[0-9]+$/.test(value)) out.seed = Number(value);
      else if (key === 'dist' && (value === 'uniform' || value === 'normal')) out.distribution = value;
      else throw badSpec(spec, `bad parameter '${pair}'`);
    }
    return out;
  }
  throw badSpec(spec);
}

export interface DataSpecDefaults extends Partial<Pick<ImageFolderOptions, 'onCorrupt' | 'onWarning' | 'logger' | 'concurrency' | 'channels'>> {
  /** Split when the spec names none; default 'test' (evaluation and calibration read held-out data by default). */
  split?: 'train' | 'test';
  /** Image side for images: (default 128, the study's cats_vs_dogs size) and cifar10: (default 32). */
  size?: number;
  /** Fashion-MNIST directory when the spec names none. */
  fashionMnistDir?: string;
  count?: number;
  seed?: number;
}

export async function datasetFromSpec(spec: string, defaults: DataSpecDefaults = {}): Promise<ItemDataset> {
  const parsed = parseDataSpec(spec);
  const split = defaults.split ?? 'test';
  switch (parsed.kind) {
    case 'fashion-mnist':
      return fashionMnist({ split: parsed.split ?? split, ...(parsed.dir ?? defaults.fashionMnistDir ? { dir: parsed.dir ?? defaults.fashionMnistDir } : {}) });
    case 'cifar10':
      return cifar10({ dir: parsed.dir, split: parsed.split ?? split, ...(defaults.size ? { size: defaults.size } : {}) });
    case 'images': {
      const { onCorrupt, onWarning, logger, concurrency, channels } = defaults;
      return imageFolder(parsed.dir, { size: defaults.size ?? STUDY_CATS_VS_DOGS_SIZE, onCorrupt, onWarning, logger, concurrency, channels });
    }
    case 'npy':
      return npy(parsed.file, parsed.labels ? { labels: parsed.labels } : {});
    case 'synthetic':
      return synthetic({ shape: parsed.shape, count: parsed.count ?? defaults.count, seed: parsed.seed ?? defaults.seed, distribution: parsed.distribution });
  }
}
