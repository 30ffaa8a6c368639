// Image files as a model's input, for the commands that take --image (predict, features): the
// transform the checkpoint records (or ImageNet's for a 3-channel file without metadata), checked
// against the model before any image is read.
import { decodeImage } from '../image/decode.js';
import type { ImageLimits } from '../image/image.js';
import { preprocess } from '../image/preprocess.js';
import type { Preprocessing } from '../models/metadata.js';
import { CliError, readInputFile, type Checkpoint, type ResolvedModel } from './checkpoint.js';

/** How images become inputs of `resolved`; an error naming the file when that is not known. */
export function imageTransform(resolved: ResolvedModel, ck: Checkpoint): Preprocessing {
  const m = resolved.metadata;
  const pre = m.preprocessing;
  if (pre === null) {
    throw new CliError(ck.metadata
      ? `${ck.path} does not record how images become its inputs (trained on float .npy data?): run it on an .npy batch with --input instead`
      : `${ck.path} has no repvgg-wasm metadata and takes ${m.inChannels} input channel${m.inChannels === 1 ? '' : 's'}: ` +
        "ImageNet's preprocessing does not apply; run it on an .npy batch with --input instead");
  }
  if (m.inChannels !== 1 && m.inChannels !== 3) {
    throw new CliError(`${ck.path}: the model takes ${m.inChannels} input channels; images give 1 (gray) or 3 (RGB)`);
  }
  return pre;
}

/** One image file read, decoded and preprocessed: [c, crop h, crop w] values. */
export async function readImageInput(path: string, pre: Preprocessing, limits: ImageLimits): Promise<Float32Array> {
  const bytes = await readInputFile(path, 'image');
  return preprocess(decodeImage(bytes, limits), pre);
}
