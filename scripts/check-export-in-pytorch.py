"""Manual check (needs PyTorch; not part of the tests): a .pth written by `repvgg export` loads with
torch.load(weights_only=True) into the official model with load_state_dict(strict=True), in the
form it was exported in, and gives the logits of the library's own forward.

    repvgg export --arch A0 --weights train.safetensors --format pth --form train --out DIR/a0-train.pth
    python3 scripts/check-export-in-pytorch.py DIR/a0-train.pth A0 10 [train|deploy]
"""
import sys

import torch

import repvgg_official as official


def main():
    path, arch, classes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    form = sys.argv[4] if len(sys.argv) > 4 else 'train'
    state = torch.load(path, weights_only=True)
    model = official.create(arch, num_classes=classes, deploy=(form == 'deploy'))
    print('load_state_dict(strict=True):', model.load_state_dict(state, strict=True))
    model.eval()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = model(x)
        if form == 'train':
            fused = official.repvgg_model_convert(model)
            err = (fused(x) - y).norm() / y.norm()
            print(f'official conversion of the loaded model vs its training form: {err.item():.2e}')
    print('logits', tuple(y.shape), 'finite:', bool(torch.isfinite(y).all()))


if __name__ == '__main__':
    main()
