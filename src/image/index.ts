// Images: PNG and JPEG decoders (no dependencies, browser-safe), PIL's bilinear resize,
// torchvision's eval transform, and classification of decoded images with a model.
export { decodeImage, detectImageFormat, toChannels } from './decode.js';
export type { ImageFormat } from './decode.js';
export { decodePng, isPng } from './png.js';
export { decodeJpeg, isJpeg } from './jpeg.js';
export { checkImage, MAX_IMAGE_SIDE } from './image.js';
export type { DecodedImage, ImageLimits } from './image.js';
export { resizeBilinear } from './resize.js';
export { preprocess, resizeShorter, resizedSize, centerCrop, cropBox, normalize } from './preprocess.js';
export type { Pixels } from './preprocess.js';
export { classifyImages, topPredictions } from './classify.js';
export type { ClassifyOptions, Prediction } from './classify.js';
export { IMAGENET_CLASSES } from './imagenet-classes.js';
