// Feature maps of a RepVGG, as the tutorials draw them: the output of the stem (stage0) and of each
// stage, for one batch, in eval mode. The training and the deploy form give the same maps within
// float error: that is what re-parameterization promises, shown stage by stage.
import { Tensor } from '../tensor.js';
import type { RepVGG } from './repvgg.js';

export interface StageMap { name: string; shape: [number, number, number, number]; data: Float32Array }

/** The outputs of stage0 .. stage4 for x [n, c, h, w] (the model is run in eval mode, then put back). */
export function stageOutputs(model: RepVGG, x: Tensor): StageMap[] {
  const wasTraining = model.training;
  model.eval();
  const out: StageMap[] = [];
  let cur = x;
  try {
    for (const [name, stage] of model.children().filter(([n]) => n.startsWith('stage'))) {
      const next = stage.forward(cur);
      if (cur !== x) cur.dispose();
      cur = next;
      out.push({ name, shape: [...cur.shape] as StageMap['shape'], data: cur.toFloat32Array() });
    }
  } finally {
    if (cur !== x) cur.dispose();
    model.train(wasTraining);
  }
  return out;
}
