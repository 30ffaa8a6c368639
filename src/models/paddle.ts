// Paddle's RepVGG names and layouts, turned into the official PyTorch ones. The popular Paddle
// ports keep the official module names (stage0.rbr_dense.conv, .bn, rbr_identity, linear) and
// differ only where Paddle itself does: BatchNorm's statistics are `_mean` and `_variance`
// (PyTorch: running_mean, running_var, plus a num_batches_tracked Paddle has not), and
// nn.Linear's weight is [in, out] (PyTorch: [out, in]).
import type { FileTensor } from '../io/types.js';

/** The state dict in PyTorch's names and layouts; `notes` says what was changed. */
export function fromPaddle(tensors: ReadonlyMap<string, FileTensor>, notes: string[] = []): Map<string, FileTensor> {
  const out = new Map<string, FileTensor>();
  let renamed = 0;
  for (const [name, t] of tensors) {
    let n = name;
    if (n.endsWith('._mean')) n = `${n.slice(0, -'._mean'.length)}.running_mean`;
    else if (n.endsWith('._variance')) n = `${n.slice(0, -'._variance'.length)}.running_var`;
    if (n !== name) renamed++;
    out.set(n, n === 'linear.weight' ? transposed(t, name) : t);
  }
  if (renamed) notes.push(`renamed ${renamed} BatchNorm statistics (_mean, _variance -> running_mean, running_var)`);
  if (tensors.has('linear.weight')) notes.push("transposed linear.weight from Paddle's [in, out] to [out, in]");
  return out;
}

function transposed(t: FileTensor, name: string): FileTensor {
  if (t.shape.length !== 2 || !(t.data instanceof Float32Array)) {
    throw new Error(`paddle: ${name} should be a 2-d float array [in, out], got shape [${t.shape.join(', ')}]`);
  }
  const [rows, cols] = t.shape;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c];
  return { dtype: 'float32', sourceDtype: t.sourceDtype, shape: [cols, rows], data };
}
