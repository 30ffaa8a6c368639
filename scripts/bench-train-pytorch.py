"""Manual comparison (needs PyTorch; not part of the tests or CI): the PyTorch side of the training
step that bench/threads.ts times for repvgg-wasm (issue 11). One training step of the multi-branch
official RepVGG-A0 (scripts/repvgg_official.py, create('A0', num_classes=10)) at 32x32, batch 128:
forward in training mode, cross-entropy loss, backward, SGD step (Nesterov, momentum 0.9, weight
decay 1e-4), gradients zeroed. Timed on 1 and on 2 threads, the median of N steps after a warm-up;
prints images/s.

With Debian's python3-torch (1.13) and OpenBLAS (the pthread build, unpacked beside, not
installed), run under the lock the benchmarks share, in the same sitting as ours:

    cd /tmp && apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread*.deb /tmp/oblas
    flock /tmp/bench.lock env LD_LIBRARY_PATH=/tmp/oblas/usr/lib/x86_64-linux-gnu/openblas-pthread \\
        /usr/bin/python3 scripts/bench-train-pytorch.py [--threads 1,2] [--steps 9] [--warmup 3] [--mkldnn on|off]
    flock /tmp/bench.lock node dist/bench/threads.js      # ours: the "A0 training step 32x32" row

Debian's torch 1.13 has oneDNN (mkldnn) built in and runs its convolutions there by default, the
BLAS then serving the linear layer; --mkldnn off makes the convolutions im2col + OpenBLAS GEMMs.
The script says which BLAS the process really loaded (from /proc/self/maps) and sets OpenBLAS's own
thread count with each torch.set_num_threads (OpenBLAS keeps its own pool otherwise).
"""
import argparse
import ctypes
import statistics
import sys
import time

import torch
import torch.nn as nn

import repvgg_official as official

ARCH, CLASSES, SIZE, BATCH = 'A0', 10, 32, 128


def loaded_blas():
    """The BLAS libraries mapped into this process (after torch's first GEMM)."""
    names = set()
    with open('/proc/self/maps') as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ''
            if 'blas' in path or 'mkl' in path:
                names.add(path)
    return sorted(names)


def openblas():
    """OpenBLAS's thread-count functions when the process runs OpenBLAS, else None."""
    for path in loaded_blas():
        if 'openblas' in path:
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_set_num_threads.argtypes = [ctypes.c_int]
                lib.openblas_get_num_threads.restype = ctypes.c_int
                return lib
            except (OSError, AttributeError):
                pass
    return None


def make_step(model, optimizer, x, y):
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--threads', default='1,2', help='thread counts, comma-separated (default 1,2)')
    ap.add_argument('--steps', type=int, default=9, help='timed steps per thread count (median; default 9)')
    ap.add_argument('--warmup', type=int, default=3, help='untimed steps first (default 3)')
    ap.add_argument('--mkldnn', choices=['on', 'off'], default='on',
                    help="PyTorch's oneDNN convolutions (on: PyTorch's default where built in; off: im2col + the BLAS)")
    args = ap.parse_args()
    torch.backends.mkldnn.enabled = args.mkldnn == 'on'

    torch.manual_seed(0)
    model = official.create(ARCH, num_classes=CLASSES)
    model.train()
    # The official recipe's SGD; the learning rate is 0 so that repeating the step on one batch
    # cannot drift (as in bench/threads.ts), while the update still runs in full.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9, nesterov=True, weight_decay=1e-4)
    x = torch.randn(BATCH, 3, SIZE, SIZE)
    y = torch.arange(BATCH) * 7 % CLASSES
    step = make_step(model, optimizer, x, y)
    step()  # loads the BLAS, creates the momentum buffers

    blas = openblas()
    print(f'PyTorch {torch.__version__}; BLAS loaded: {", ".join(loaded_blas()) or "none found (built in?)"}; '
          f'mkldnn {"on" if torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled else "off"}')
    print(f'training step of multi-branch {ARCH}, {SIZE}x{SIZE}, batch {BATCH}, {CLASSES} classes: '
          f'forward, cross-entropy, backward, SGD (Nesterov, momentum 0.9, weight decay 1e-4)')
    results = {}
    for t in [int(v) for v in args.threads.split(',')]:
        torch.set_num_threads(t)
        if blas is not None:
            blas.openblas_set_num_threads(t)
        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        ms = statistics.median(times) * 1000
        results[t] = ms
        extra = f', OpenBLAS threads {blas.openblas_get_num_threads()}' if blas is not None else ''
        print(f'{t} thread{"s" if t > 1 else ""} (torch {torch.get_num_threads()}{extra}): {ms:.1f} ms '
              f'({min(times) * 1000:.1f}-{max(times) * 1000:.1f}), {BATCH / ms * 1000:.1f} img/s'
              + (f', x{results[min(results)] / ms:.2f} vs {min(results)} thread' if t != min(results) else ''))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
