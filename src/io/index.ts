// File formats: PyTorch checkpoints (read), safetensors and .npy (read and write). Everything
// here works on Uint8Array and runs in browsers; the two file helpers at the end load Node's fs
// lazily, only when called.
import { looksLikeNpy, readNpy } from './npy.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import { readTorch, torchFormatOf, type TorchReadOptions } from './torch.js';
import { looksLikePickle, readPdparams } from './pdparams.js';
import type { TensorFile } from './types.js';

export type {
  FileTensor, Float32Tensor, Int64Tensor, Int32Tensor, SourceDType, TensorFile, TensorInput, TensorsInput,
} from './types.js';
export { readTorch, STATE_DICT_KEYS } from './torch.js';
export type { TorchCheckpoint, TorchReadOptions } from './torch.js';
export { readSafetensors, writeSafetensors } from './safetensors.js';
export type { SafetensorsFile } from './safetensors.js';
export { readNpy, writeNpy } from './npy.js';
export { readPdparams } from './pdparams.js';
export { writeTorch } from './torch-write.js';
export { DEFAULT_LIMITS, ReadLimitError } from './limits.js';
export type { ReadLimits } from './limits.js';
export { encodeOnnxModel, ONNX_OPSET, ONNX_IR_VERSION } from './onnx.js';
export type {
  OnnxGraph, OnnxNode, OnnxInitializer, OnnxAttribute, OnnxAttributeValue, OnnxValueInfo, OnnxDim, OnnxModelInfo,
} from './onnx.js';

export type TensorFileFormat = 'torch' | 'torch-legacy' | 'torch-legacy-tar' | 'safetensors' | 'npy' | 'pdparams';

/** Recognizes a tensor file from its first bytes; null if none of ours. */
export function detectTensorFormat(bytes: Uint8Array): TensorFileFormat | null {
  const torch = torchFormatOf(bytes);
  if (torch === 'zip') return 'torch';
  if (torch === 'legacy') return 'torch-legacy';
  if (torch === 'legacy-tar') return 'torch-legacy-tar';
  if (looksLikeNpy(bytes)) return 'npy';
  if (looksLikeSafetensors(bytes)) return 'safetensors';
  // A bare pickle that is not torch's legacy format (checked first): a Paddle state dict.
  if (looksLikePickle(bytes)) return 'pdparams';
  return null;
}

/**
 * Reads named tensors from a torch checkpoint, a Paddle .pdparams, a safetensors file or an .npy file (one tensor,
 * named `npyName`, default 'array'), whichever `bytes` is; `metadata` is a safetensors file's
 * __metadata__ ({} for the other formats). The limits in `options` (ReadLimits)
 * apply to whichever format it is.
 */
export function readTensorFile(bytes: Uint8Array, options: TorchReadOptions & { npyName?: string } = {}):
  TensorFile & { format: TensorFileFormat; metadata: Record<string, string> } {
  const format = detectTensorFormat(bytes);
  switch (format) {
    case 'torch': case 'torch-legacy': case 'torch-legacy-tar': {
      const { tensors, notes } = readTorch(bytes, options);
      return { format, tensors, notes, metadata: {} };
    }
    case 'safetensors': {
      // safetensors' __metadata__ (string to string): what this library writes about the model.
      const { tensors, notes, metadata } = readSafetensors(bytes, options);
      return { format, tensors, notes, metadata };
    }
    case 'npy':
      return { format, tensors: new Map([[options.npyName ?? 'array', readNpy(bytes, options)]]), notes: [], metadata: {} };
    case 'pdparams': {
      // In Paddle's names and layouts: models/paddle.ts (fromPaddle) turns them into PyTorch's.
      const { tensors, notes } = readPdparams(bytes, options);
      return { format, tensors, notes, metadata: {} };
    }
    default:
      throw new Error('not a recognized tensor file: neither a PyTorch checkpoint (ZIP or legacy pickle), ' +
        'a Paddle .pdparams, a safetensors file nor an .npy file');
  }
}

/** Node only: the bytes of a file. */
export async function readFileBytes(path: string | URL): Promise<Uint8Array> {
  return (await import('./node.js')).readFileBytes(path);
}

/** Node only: writes a file through a temporary file and a rename, so it is never left half-written. */
export async function writeFileAtomic(path: string | URL, bytes: Uint8Array): Promise<void> {
  return (await import('./node.js')).writeFileAtomic(path, bytes);
}

/** Node only: creates a folder (and its parents) if it does not exist. */
export async function ensureDir(path: string | URL): Promise<void> {
  return (await import('./node.js')).ensureDir(path);
}

/** Node only: removes the temporary files an interrupted writeFileAtomic left in `dir`; returns their names. */
export async function removeStaleTempFiles(dir: string | URL): Promise<string[]> {
  return (await import('./node.js')).removeStaleTempFiles(dir);
}
