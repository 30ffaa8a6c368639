#!/usr/bin/env python3
"""Writes the training fixtures of test/train-pytorch.test.ts into test/fixtures/train/.

    /usr/bin/python3 scripts/make-train-fixtures.py

Needs PyTorch (written with Debian's python3-torch 1.13) and NumPy; uses scripts/repvgg_official.py
(the official RepVGG). Deterministic: fixed seeds, one thread, no timestamps, so a rerun with the
same PyTorch gives a byte-identical file.

The model: a small grouped RepVGG (num_blocks [1, 2, 1, 1], width_multiplier
[0.125, 0.125, 0.125, 0.0625] -> widths 8, 8, 16, 32, 32; override_groups_map {2: 2, 3: 2, 4: 2},
so stage2.0 and stage3.0 are grouped stride-2 blocks and stage2.1 a grouped block with an identity
branch), 10 classes, 3 input channels. Its weights come from PyTorch's default initialisation
(seed 0), every BN (the identity branches' too) then gets random gamma, beta, running mean, running
variance and num_batches_tracked = 5.

Two fixed batches (4 x 3 x 32 x 32, normal; labels fixed), one training step on each in training
mode (BN batch statistics, running statistics updated), the learning rate changed between the two
steps as a schedule would. PyTorch computes in float64 from the float32 weights and batches (as
make-model-fixtures.py does), so what the test measures is our float32 error alone; results are
stored rounded to float32, losses as float64 numbers. The parameter groups follow the official recipe: no weight decay on any
parameter whose name contains 'bias' or 'bn' (conv and linear weights and rbr_identity.weight are
decayed); the custom-L2 case also exempts rbr_dense and rbr_1x1 (the official train script with
--custwd). Cases:

- sgd_nesterov: SGD, momentum 0.9, nesterov, weight decay 1e-4; lr 0.1 then 0.05.
- sgd: the same without nesterov.
- adamw: AdamW (betas 0.9, 0.999, eps 1e-8), weight decay 0.05; lr 1e-3 then 5e-4.
- sgd_nesterov_ls: sgd_nesterov with label smoothing 0.1.
- custom_l2: sgd_nesterov where the loss is CE + wd / 2 * sum over blocks of get_custom_L2()
  (the official RepVGGBlock.get_custom_L2, evaluated after the forward, as the official train
  script does).

Output: test/fixtures/train/train.safetensors (F32; num_batches_tracked and labels I64), < 1 MB:
- init.<state-dict key>: the starting weights and buffers (the official names);
- batch<i>.x [4, 3, 32, 32], batch<i>.y [4] for i = 0, 1;
- <case>.step<k>.<key> for k = 1, 2: every parameter, running_mean, running_var and
  num_batches_tracked after step k;
- __metadata__.manifest: JSON {version, generator, config, batches, cases: {<case>: {optimizer,
  lr: [step1, step2], weight_decay, momentum, nesterov, label_smoothing, custom_l2, no_decay,
  loss: [step1, step2]}}}, where loss is the loss PyTorch minimised at that step (CE, plus the
  custom L2 term in custom_l2) and no_decay lists the parameters without weight decay.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from repvgg_official import RepVGG, RepVGGBlock  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'train')

CONFIG = dict(num_blocks=[1, 2, 1, 1], width_multiplier=[0.125, 0.125, 0.125, 0.0625],
              override_groups_map={2: 2, 3: 2, 4: 2}, num_classes=10, in_channels=3)
BATCH = (4, 3, 32, 32)
LABELS = [[3, 7, 0, 9], [1, 4, 4, 8]]
NUM_BATCHES_TRACKED = 5

CASES = {
    'sgd_nesterov': dict(optimizer='sgd', lr=[0.1, 0.05], weight_decay=1e-4, momentum=0.9, nesterov=True,
                         label_smoothing=0.0, custom_l2=False),
    'sgd': dict(optimizer='sgd', lr=[0.1, 0.05], weight_decay=1e-4, momentum=0.9, nesterov=False,
                label_smoothing=0.0, custom_l2=False),
    'adamw': dict(optimizer='adamw', lr=[1e-3, 5e-4], weight_decay=0.05, betas=[0.9, 0.999], eps=1e-8,
                  label_smoothing=0.0, custom_l2=False),
    'sgd_nesterov_ls': dict(optimizer='sgd', lr=[0.1, 0.05], weight_decay=1e-4, momentum=0.9, nesterov=True,
                            label_smoothing=0.1, custom_l2=False),
    'custom_l2': dict(optimizer='sgd', lr=[0.1, 0.05], weight_decay=1e-4, momentum=0.9, nesterov=True,
                      label_smoothing=0.0, custom_l2=True),
}


# ----------------------------------------------------------------------------- safetensors

def write_safetensors(path, tensors, metadata):
    """tensors: name -> numpy array (float32 or int64), in the order given. The safetensors layout:
    u64 LE header size N, N bytes of JSON padded with spaces to 8 bytes, then the data."""
    codes = {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64'}
    header = {'__metadata__': metadata}
    blobs = []
    offset = 0
    # int64 first, then float32: every tensor stays aligned to its element size.
    for name in sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n)):
        a = np.ascontiguousarray(tensors[name])
        data = a.astype(a.dtype.newbyteorder('<'), copy=False).tobytes()
        header[name] = {'dtype': codes[a.dtype], 'shape': list(a.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ----------------------------------------------------------------------------- model and steps

def official_no_decay(name):
    return 'bias' in name or 'bn' in name


def custom_l2_no_decay(name):
    return official_no_decay(name) or 'rbr_dense' in name or 'rbr_1x1' in name


def build_model():
    torch.manual_seed(0)
    model = RepVGG(**CONFIG)
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_((torch.rand(c, generator=g) - 0.5) * 0.4)
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                m.num_batches_tracked.fill_(NUM_BATCHES_TRACKED)
    return model


def state_arrays(model):
    """Every parameter and buffer (running stats, num_batches_tracked) as numpy, by official name."""
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        out[k] = v.numpy().astype(np.int64) if v.dtype == torch.int64 else v.numpy().astype(np.float32)
    return out


def make_optimizer(model, case):
    no_decay = custom_l2_no_decay if case['custom_l2'] else official_no_decay
    decay, plain = [], []
    for name, p in model.named_parameters():
        (plain if no_decay(name) else decay).append(p)
    groups = [{'params': decay, 'weight_decay': case['weight_decay']}, {'params': plain, 'weight_decay': 0.0}]
    if case['optimizer'] == 'sgd':
        return torch.optim.SGD(groups, lr=case['lr'][0], momentum=case['momentum'], nesterov=case['nesterov'],
                               foreach=False)
    return torch.optim.AdamW(groups, lr=case['lr'][0], betas=tuple(case['betas']), eps=case['eps'], foreach=False)


def run_case(init_state, batches, case):
    model = RepVGG(**CONFIG)
    model.load_state_dict(init_state)
    model.double()  # the float32 weights, computed on in float64: the test's errors are then ours alone
    model.train()
    opt = make_optimizer(model, case)
    losses, states = [], []
    for step, (x, y) in enumerate(batches):
        for group in opt.param_groups:
            group['lr'] = case['lr'][step]
        opt.zero_grad(set_to_none=True)
        logits = model(x.double())
        loss = F.cross_entropy(logits, y, label_smoothing=case['label_smoothing'])
        if case['custom_l2']:
            # The official train script: loss += weight_decay * 0.5 * block.get_custom_L2() per block.
            for m in model.modules():
                if isinstance(m, RepVGGBlock):
                    loss = loss + case['weight_decay'] * 0.5 * m.get_custom_L2()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
        states.append(state_arrays(model))
    no_decay = [n for n, _ in model.named_parameters()
                if (custom_l2_no_decay if case['custom_l2'] else official_no_decay)(n)]
    return losses, states, no_decay


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    model = build_model()
    init_state = {k: v.clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(2)
    batches = [(torch.randn(*BATCH, generator=gen), torch.tensor(LABELS[i], dtype=torch.int64)) for i in range(2)]

    tensors = {}
    for k, v in state_arrays(model).items():
        tensors[f'init.{k}'] = v
    for i, (x, y) in enumerate(batches):
        tensors[f'batch{i}.x'] = x.numpy().astype(np.float32)
        tensors[f'batch{i}.y'] = y.numpy().astype(np.int64)

    manifest = {
        'version': 1,
        'generator': f'torch {torch.__version__}',
        'config': {**CONFIG, 'override_groups_map': {str(k): v for k, v in CONFIG['override_groups_map'].items()}},
        'batches': 2,
        'cases': {},
    }
    for name, case in CASES.items():
        losses, states, no_decay = run_case(init_state, batches, case)
        for step, st in enumerate(states):
            for k, v in st.items():
                tensors[f'{name}.step{step + 1}.{k}'] = v
        manifest['cases'][name] = {**case, 'loss': losses, 'no_decay': no_decay}
        print(f'{name}: losses {losses}')

    path = os.path.join(OUT, 'train.safetensors')
    write_safetensors(path, tensors, {'manifest': json.dumps(manifest, sort_keys=True)})
    print(f'wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)')


if __name__ == '__main__':
    main()
