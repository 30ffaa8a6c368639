// PyTorch's SGD update (the formula is in backend.ts).
import type { SgdOptions } from '../../backend.js';

/** Backend.sgdStep, element by element. With momentum 0 the buffer is neither read nor written. */
export function sgdStep(param: Float32Array, grad: Float32Array, momentumBuf: Float32Array, o: SgdOptions): void {
  const { lr, momentum, weightDecay, nesterov } = o;
  for (let i = 0; i < param.length; i++) {
    let g = grad[i] + weightDecay * param[i];
    if (momentum !== 0) {
      momentumBuf[i] = momentum * momentumBuf[i] + g;
      const buf = momentumBuf[i]; // the stored float32 value, as PyTorch uses it
      g = nesterov ? g + momentum * buf : buf;
    }
    param[i] -= lr * g;
  }
}
