// The WASM convolutions batch small maps across images (a GEMM's columns run over several images'
// positions) and split large batches into image blocks. The PyTorch fixtures have batches of 1
// and 2; these shapes make the blocks split unevenly (n not a multiple of the block), span 1x1 and
// 2x2 maps, and cross an output row inside a block, compared with the reference backend (itself
// checked against PyTorch in kernels.test).
import { test } from 'uvu';
import { outSize, type Conv2dShape } from '../src/backend.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { assertClose, TOL_BACKWARD, TOL_FORWARD } from './helpers/compare.js';
import { Rng } from './helpers/random.js';

const [reference, wasm] = await testBackends();

// n, c, hw, k, kernel, stride, pad, groups
const CASES: [number, number, number, number, number, number, number, number][] = [
  [5, 8, 13, 12, 3, 1, 1, 1],   // 169 positions: blocks of 3 images, then 2
  [9, 16, 7, 16, 3, 2, 1, 2],   // 16 positions per image, stride 2, groups
  [7, 24, 2, 20, 3, 1, 1, 1],   // 2x2 maps: 4 positions, every panel spans two images
  [6, 16, 2, 32, 3, 2, 1, 1],   // 2x2 -> 1x1, stride 2 (col2im across images)
  [3, 12, 5, 12, 1, 1, 0, 3],   // 1x1, 25 positions
  [130, 4, 2, 4, 3, 1, 1, 1],   // more images than one block (512 / 4 = 128): a block of 2 after
];

for (const [n, c, hw, k, ks, st, pad, groups] of CASES) {
  const name = `n=${n} ${c}->${k} ${hw}x${hw} k${ks} s${st} p${pad} g${groups}`;
  test(name, () => {
    const s: Conv2dShape = {
      n, c, h: hw, w: hw, k, kh: ks, kw: ks, sh: st, sw: st, ph: pad, pw: pad, groups,
      oh: outSize(hw, ks, st, pad), ow: outSize(hw, ks, st, pad),
    };
    const rng = new Rng(n * 1000 + c);
    const x = rng.normals(n * c * hw * hw);
    const w = rng.normals(k * (c / groups) * ks * ks);
    const bias = rng.normals(k);
    const dy = rng.normals(n * k * s.oh * s.ow);
    const results = [reference, wasm].map((b) => {
      const [X, W, B, DY] = [x, w, bias, dy].map((a) => upload(b, a));
      const Y = b.alloc(dy.length), DX = b.alloc(x.length), DW = b.alloc(w.length), DB = b.alloc(k);
      b.conv2d(s, X, W, B, Y);
      b.conv2dBackwardInput(s, DY, W, DX);
      b.conv2dBackwardWeight(s, X, DY, DW, DB);
      const out = { y: download(b, Y), dx: download(b, DX), dw: download(b, DW), db: download(b, DB) };
      for (const buf of [X, W, B, DY, Y, DX, DW, DB]) b.free(buf);
      return out;
    });
    const [ref, ours] = results;
    assertClose(ours.y, ref.y, TOL_FORWARD, `${name}: y`);
    assertClose(ours.dx, ref.dx, TOL_BACKWARD, `${name}: dx`);
    assertClose(ours.dw, ref.dw, TOL_BACKWARD, `${name}: dw`);
    assertClose(ours.db, ref.db, TOL_BACKWARD, `${name}: db`);
  });
}

test.run();
