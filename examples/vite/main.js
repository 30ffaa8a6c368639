// A page bundled by Vite: the library picks its backend and build, runs a small RepVGG on a fixed
// input, and prints the logits (test/bundler.test.ts compares them with Node's).
import { RepVGG, Tensor, createBackend } from '../../dist/src/index.js';

const backend = await createBackend();
const model = new RepVGG(backend, { numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5], numClasses: 5, seed: 3 });
model.eval();
const x = Tensor.from(backend, Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.01)), [1, 3, 32, 32]);
const logits = model.forward(x).toFloat32Array();
document.getElementById('out').textContent = JSON.stringify({ backend: backend.name, isa: backend.isa, logits: Array.from(logits) });
