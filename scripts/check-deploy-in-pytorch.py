"""Manual check (needs PyTorch; not part of the tests): a deploy checkpoint written by
`repvgg convert` loads into PyTorch's official deploy model with load_state_dict(strict=True) and
gives the same logits as PyTorch's own conversion and as `repvgg predict`.

    python3 scripts/check-deploy-in-pytorch.py make  DIR          # DIR/train.pt, DIR/x.npy, DIR/ref.npy
    repvgg convert --arch A0 --in DIR/train.pt --out DIR/deploy.safetensors
    repvgg predict --arch A0 --weights DIR/deploy.safetensors --input DIR/x.npy --output DIR/ours.npy
    python3 scripts/check-deploy-in-pytorch.py check DIR
"""
import json
import struct
import sys

import numpy as np
import torch

import repvgg_official as official

ARCH, CLASSES = 'A0', 10


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    dtypes = {'F32': np.float32, 'I64': np.int64, 'I32': np.int32}
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        arr = np.frombuffer(data[begin:end], dtype=dtypes[info['dtype']]).reshape(info['shape'])
        out[name] = torch.from_numpy(arr.copy())
    return out


def rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


def make(d):
    torch.manual_seed(0)
    model = official.create(ARCH, CLASSES)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
    model.eval()
    torch.save(model.state_dict(), f'{d}/train.pt')
    x = torch.randn(2, 3, 64, 64)
    np.save(f'{d}/x.npy', x.numpy())
    with torch.no_grad():
        np.save(f'{d}/ref.npy', official.repvgg_model_convert(model)(x).numpy())


def check(d):
    deploy = official.create(ARCH, CLASSES, deploy=True)
    deploy.load_state_dict(read_safetensors(f'{d}/deploy.safetensors'), strict=True)
    deploy.eval()
    x = torch.from_numpy(np.load(f'{d}/x.npy'))
    with torch.no_grad():
        y = deploy(x).numpy()
    ref, ours = np.load(f'{d}/ref.npy'), np.load(f'{d}/ours.npy')
    print(f'PyTorch deploy model with our weights vs PyTorch conversion: {rel(y, ref):.2e}')
    print(f'repvgg predict vs PyTorch conversion:                       {rel(ours, ref):.2e}')


if __name__ == '__main__':
    {'make': make, 'check': check}[sys.argv[1]](sys.argv[2])
