/** The data layer's public surface (re-exported from lib/index.ts). */
export type { Batch, BatchOptions, Dataset, DataSource } from './types.js';
export { ItemDataset, subset, type ItemStore, type RawItem, type DatasetInit } from './dataset.js';
export { toBatches, normalizeBatch, isDataset, type ToBatchesOptions } from './source.js';
export {
  transforms,
  TransformPipeline,
  resizeBilinear,
  centerCrop,
  pad,
  grayscale,
  repeatChannels,
  hwcToChw,
  chwToHwc,
  normalize,
  toFloat16,
  toUint8,
  type TransformStep,
  type ItemFormat,
  type Layout,
  type ItemDType,
  type Padding,
} from './transforms.js';
export { float32ToFloat16Bits, float16BitsToFloat32 } from './float16.js';
export { fashionMnist, parseIdx, defaultFashionMnistDir, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, FASHION_MNIST_FIXTURE_DIR, FASHION_MNIST_NORMALIZATION, type FashionMnistOptions } from './fashion-mnist.js';
export { cifar10, CIFAR10_CLASSES, CIFAR10_NORMALIZATION, STUDY_CIFAR10_SIZE, type Cifar10Options } from './cifar10.js';
export { imageFolder, IMAGE_EXTENSIONS, STUDY_CATS_VS_DOGS_SIZE, type ImageFolderOptions } from './image-folder.js';
export { npy, parseNpy, type NpyOptions } from './npy.js';
export { synthetic, type SyntheticOptions } from './synthetic.js';
export { parseDataSpec, datasetFromSpec, DATA_SPEC_FORMS, type DataSpec, type DataSpecDefaults } from './spec.js';
export { createRandom } from './random.js';
