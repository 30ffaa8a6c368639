// Squeeze-and-excitation as the official RepVGG's SEBlock: pool, 1x1 conv down (bias), ReLU,
// 1x1 conv up (bias), sigmoid, multiply the input per channel. Names: `down`, `up`.
import type { Backend } from '../backend.js';
import {
  addInPlace, channelScale, channelScaleBackward, globalAvgPool, globalAvgPoolBackward, relu, reluBackward, sigmoid,
  sigmoidBackward,
} from '../ops/index.js';
import { mulberry32, type Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from './layers.js';
import { Module } from './module.js';

interface Saved { x: Tensor; h: Tensor; s: Tensor }

export class SEBlock extends Module {
  readonly down: Conv2d;
  readonly up: Conv2d;

  constructor(backend: Backend, channels: number, internal: number, rng: Rng | null = mulberry32(0)) {
    super(backend);
    this.down = this.addModule('down', new Conv2d(backend, { inChannels: channels, outChannels: internal, kernelSize: 1, bias: true }, rng));
    this.up = this.addModule('up', new Conv2d(backend, { inChannels: internal, outChannels: channels, kernelSize: 1, bias: true }, rng));
  }

  forward(x: Tensor): Tensor {
    const pooled = globalAvgPool(x);
    const h = this.down.forward(pooled);
    const hr = relu(h);
    const u = this.up.forward(hr);
    const s = sigmoid(u);
    u.dispose();
    const y = channelScale(x, s);
    // The convs keep their inputs (pooled, hr) by reference: this block owns them.
    this.save({ x, h, s }, [pooled, h, hr, s]);
    return y;
  }

  backward(dy: Tensor): Tensor {
    return this.withSaved(({ x, h, s }: Saved) => {
      const { dx, ds } = channelScaleBackward(x, s, dy);
      const du = sigmoidBackward(s, ds);
      ds.dispose();
      const dhr = this.up.backward(du)!;
      du.dispose();
      const dh = reluBackward(h, dhr);
      dhr.dispose();
      const dpooled = this.down.backward(dh)!;
      dh.dispose();
      const dxPool = globalAvgPoolBackward(dpooled, x.shape);
      dpooled.dispose();
      addInPlace(dx, dxPool);
      dxPool.dispose();
      return dx;
    });
  }
}
