// Training data: datasets, sources (mnist, cifar10, npy, folders of images), augmentation and the
// batch loaders. Browser-safe except loadSource, loadImageFolder and loadTrainingData, which read
// files through Node's fs (loaded lazily).
export { createDataset, subset, slice, classCounts, normalization, channelStats } from './dataset.js';
export type { ImageDataset, ImageDatasetInit, TrainTestSplit } from './dataset.js';
export { NO_AUGMENT, sampleAugment, augmentImage, writeAugmented } from './augment.js';
export type { AugmentOptions, AugmentParams } from './augment.js';
export { BatchLoader } from './loader.js';
export type { Batch, BatchLoaderOptions, BatchSource } from './loader.js';
export { Mulberry32, streamRng, streamSeed, permutation } from './random.js';
export {
  loadSource, parseSourceSpec, datasetPreprocessing, mnistFromPackageDigits, mnistFromIdx, cifar10FromBatches, npyDatasets,
  MNIST_MEAN, MNIST_STD, CIFAR10_MEAN, CIFAR10_STD, MNIST_AUGMENT, CIFAR_AUGMENT, MNIST_ORDER_SEED, SOURCE_FORMS,
} from './sources.js';
export type { LoadSourceOptions, LoadedSource, SourceSpec } from './sources.js';
export { parseCifarBatch, parseIdx, CIFAR10_CLASSES } from './formats.js';
export { ImageFolderLoader, sampleResizedCrop, splitByClass, folderPreprocessing } from './image-folder.js';
export type { FolderEntry, CropBox, ImageFolderLoaderOptions } from './image-folder.js';
export { loadTrainingData, loadImageFolder, IMAGE_EXTENSIONS } from './training-data.js';
export type { TrainingData, TrainingDataOptions, ImageFolderSource } from './training-data.js';
