"""Model-level reference data for test/models-*.test.ts, from the official RepVGG definition
(scripts/repvgg_official.py) run by PyTorch. Deterministic: re-running gives the same files
(torch.manual_seed; the zip archives torch.save writes carry no timestamps).

Writes test/fixtures/models/:
  models.json         parameter counts of every variant (both forms, 1000 and 10 classes), the
                      state-dict keys and shapes of a few variants, and the manifest of small.bin
  small.bin           float32 little-endian tensors named in models.json ("small" section)
  small_train.pt      torch.save(model.state_dict()) of a small custom RepVGG (groups, SE,
                      random BN statistics)
  small_wrapped.pt    the same as {'state_dict': {'module.' + k: v}, 'epoch': 3} (DataParallel style)
  small_deploy.pt     torch.save(repvgg_model_convert(model).state_dict())

Reference outputs (logits, gradients, running statistics) are computed in float64 from the
float32 weights and inputs, then stored as float32: the tests measure our float32 error alone.

Run: /usr/bin/python3 scripts/make-model-fixtures.py
"""
import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import repvgg_official as R  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'models')

# The small custom model of the checkpoint and backward tests. Blocks are numbered from 1
# (stage1.0); with num_blocks [2, 3, 2, 1] they are 1 s1.0 (stride 2), 2 s1.1 (identity),
# 3 s2.0 (stride 2), 4 s2.1 (identity), 5 s2.2 (identity), 6 s3.0 (stride 2), 7 s3.1 (identity),
# 8 s4.0 (stride 2, in == out = 64 but no identity). The groups cover a grouped identity with 2
# and with 4 groups, an ungrouped identity and a grouped stride-2 block; SE is on every block.
SMALL = dict(num_blocks=[2, 3, 2, 1], width_multiplier=[0.25, 0.25, 0.25, 0.125],
             override_groups_map={2: 2, 4: 2, 6: 2, 7: 4}, use_se=True, num_classes=10)
SMALL_NUM_BATCHES_TRACKED = 7


def count(model):
    return int(sum(p.numel() for p in model.parameters()))


def keys_and_shapes(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def randomize_bn(model, gen):
    """running_mean ~ N(0, 0.1), running_var ~ U(0.5, 2), weight ~ U(0.5, 1.5), bias ~ N(0, 0.1)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.num_batches_tracked.fill_(SMALL_NUM_BATCHES_TRACKED)


class Bin:
    """Appends float32 tensors to one buffer; the manifest gives each one's shape and offset."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.manifest = {}

    def add(self, name, t):
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype('<f4'))
        assert name not in self.manifest, name
        self.manifest[name] = {'shape': list(a.shape), 'offset': self.size}
        self.parts.append(a.reshape(-1))
        self.size += a.size

    def bytes(self):
        return np.concatenate(self.parts).astype('<f4').tobytes()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)  # same reductions every run

    # 1. Parameter counts: sum of numel over model.parameters(), as the official code registers them.
    counts = {}
    for name in R.VARIANTS:
        counts[name] = {}
        for classes in (1000, 10):
            train = R.create(name, num_classes=classes)
            deploy_built = R.create(name, num_classes=classes, deploy=True)
            converted = R.repvgg_model_convert(train)
            assert count(converted) == count(deploy_built), name
            assert list(converted.state_dict().keys()) == list(deploy_built.state_dict().keys()), name
            counts[name][str(classes)] = {'train': count(train), 'deploy': count(converted)}
            if name in ('A0', 'B1g2', 'D2se') and classes == 1000:
                counts[name]['keys'] = {'train': keys_and_shapes(train), 'deploy': keys_and_shapes(deploy_built)}
            del train, deploy_built, converted
        print(name, counts[name]['1000'], counts[name]['10'])
    state_dict_keys = {n: counts[n].pop('keys') for n in ('A0', 'B1g2', 'D2se')}

    # 2. The small model: random init, random BN statistics, saved three ways.
    gen = torch.Generator().manual_seed(1)
    model = R.RepVGG(**SMALL)
    # Branch convs drawn with the ReLU gain (kaiming normal, fan_in): with PyTorch's default init
    # the signal shrinks ~2x per block while the BN shifts stay, and the logits would hardly depend
    # on the input (3e-4 relative), so comparing them would mostly compare biases.
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d) and not name.split('.')[-1] in ('down', 'up'):
            with torch.no_grad():  # kaiming_normal_(mode='fan_in', nonlinearity='relu'), from our generator
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / m.weight[0].numel()) ** 0.5)
    randomize_bn(model, gen)
    model.eval()
    sd = model.state_dict()
    torch.save(sd, os.path.join(OUT, 'small_train.pt'))
    torch.save({'state_dict': {'module.' + k: v for k, v in sd.items()}, 'epoch': 3, 'best_acc1': 12.5},
               os.path.join(OUT, 'small_wrapped.pt'))
    deploy = R.repvgg_model_convert(model)  # float32, the official arithmetic
    deploy.eval()
    torch.save(deploy.state_dict(), os.path.join(OUT, 'small_deploy.pt'))

    b = Bin()
    x = torch.randn(2, 3, 32, 32, generator=gen)
    b.add('eval.x', x)
    with torch.no_grad():
        m64 = copy.deepcopy(model).double().eval()
        logits = m64(x.double())
        b.add('eval.logits_train_form', logits)
        b.add('eval.logits_deploy_form', copy.deepcopy(deploy).double().eval()(x.double()))
        # How much the logits depend on the input: a comparison of logits is only as strict as this.
        other = m64(torch.randn(2, 3, 32, 32, generator=gen).double())
        dependence = ((logits - other).norm() / logits.norm()).item()
        print(f'small model: logits change by {dependence:.3f} (relative) between two inputs')
        assert dependence > 0.1, dependence

    # 3. One training-mode forward and backward: cross entropy (mean) on fixed labels, float64.
    # 40x40 leaves a 2x2 map in stage4: 16 values per channel for its batch statistics (a 1x1 map
    # with a batch of 2 would normalize two values to +-1 and make that BN's input gradient noise).
    xb = torch.randn(4, 3, 40, 40, generator=gen)
    labels = torch.tensor([3, 7, 0, 9])
    m64 = copy.deepcopy(model).double().train()
    xb64 = xb.double().requires_grad_(True)
    logits = m64(xb64)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    b.add('train.x', xb)
    b.add('train.logits', logits.detach())
    b.add('train.dx', xb64.grad)
    grad_names = []
    for name, p in m64.named_parameters():
        b.add('grad.' + name, p.grad)
        grad_names.append(name)
    running_names = []
    for name, t in m64.named_buffers():
        if name.endswith('running_mean') or name.endswith('running_var'):
            b.add('running.' + name, t)
            running_names.append(name)

    with open(os.path.join(OUT, 'small.bin'), 'wb') as f:
        f.write(b.bytes())
    manifest = {
        'version': 1,
        'generator': f'torch {torch.__version__}',
        'counts': counts,
        'state_dict_keys': state_dict_keys,
        'small': {
            'config': SMALL,
            'num_batches_tracked': SMALL_NUM_BATCHES_TRACKED,
            'train_labels': labels.tolist(),
            'train_loss': loss.item(),
            'grad_names': grad_names,
            'running_names': running_names,
            'tensors': b.manifest,
        },
    }
    with open(os.path.join(OUT, 'models.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f'wrote {OUT}: {total / 1e6:.2f} MB')


if __name__ == '__main__':
    main()
