// Training data: datasets, sources (mnist, cifar10, npy), augmentation and the batch loader.
// Browser-safe except loadSource, which reads files through Node's fs (loaded lazily).
export { createDataset, subset, slice, classCounts, normalization, channelStats } from './dataset.js';
export type { ImageDataset, ImageDatasetInit, TrainTestSplit } from './dataset.js';
export { NO_AUGMENT, sampleAugment, augmentImage, writeAugmented } from './augment.js';
export type { AugmentOptions, AugmentParams } from './augment.js';
export { BatchLoader } from './loader.js';
export type { Batch, BatchLoaderOptions } from './loader.js';
export { Mulberry32, streamRng, streamSeed, permutation } from './random.js';
export {
  loadSource, parseSourceSpec, mnistFromPackageDigits, mnistFromIdx, cifar10FromBatches, npyDatasets,
  MNIST_MEAN, MNIST_STD, CIFAR10_MEAN, CIFAR10_STD, MNIST_AUGMENT, CIFAR_AUGMENT, MNIST_ORDER_SEED, SOURCE_FORMS,
} from './sources.js';
export type { LoadSourceOptions, LoadedSource, SourceSpec } from './sources.js';
export { parseCifarBatch, parseIdx, CIFAR10_CLASSES } from './formats.js';
