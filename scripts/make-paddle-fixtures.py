"""Paddle state dicts for the tests, without Paddle (it cannot be installed here): the layout
paddle.save(layer.state_dict(), path) writes in Paddle 2.0-2.6, reproduced from its published
source (python/paddle/framework/io.py: _build_saved_state_dict turns every tensor into a NumPy
array and adds a "StructuredToParameterName@@" table of internal names; _pickle_save pickles the
dict with protocol 4 by default since 2.1, protocol 2 in 2.0).

The weights are those of test/fixtures/models/small_train.pt (the small RepVGG the model tests
use), renamed and laid out as the Paddle ports of RepVGG do: BatchNorm statistics as _mean and
_variance (no num_batches_tracked), nn.Linear's weight as [in, out].

    /usr/bin/python3 scripts/make-paddle-fixtures.py    # writes test/fixtures/models/small_paddle_p{2,4}.pdparams
"""
import os
import pickle

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'models')


def main():
    state = torch.load(os.path.join(OUT, 'small_train.pt'), map_location='cpu')
    if 'state_dict' in state:
        state = state['state_dict']
    saved, table = {}, {}
    for i, (name, t) in enumerate(state.items()):
        if name.endswith('num_batches_tracked'):
            continue  # Paddle's BatchNorm has no such buffer
        name = name.replace('running_mean', '_mean').replace('running_var', '_variance')
        a = t.detach().numpy().astype(np.float32)
        if name == 'linear.weight':
            a = np.ascontiguousarray(a.T)  # paddle.nn.Linear: [in, out]
        saved[name] = a
        table[name] = f'param_{i}'  # Paddle's internal names look like conv2d_0.w_0; their value is unused
    saved['StructuredToParameterName@@'] = table
    for protocol in (2, 4):
        with open(os.path.join(OUT, f'small_paddle_p{protocol}.pdparams'), 'wb') as f:
            pickle.dump(saved, f, protocol=protocol)
    print('wrote', len(saved) - 1, 'arrays, protocols 2 and 4')
    # Small seeds for the fuzz harness (fuzz/targets.ts): a few arrays of every supported kind.
    tiny = {'stage0.rbr_dense.bn._mean': np.arange(4, dtype=np.float32),
            'linear.weight': np.arange(6, dtype=np.float32).reshape(3, 2),
            'counts': np.array([1, 2, 3], dtype=np.int64), 'halves': np.array([0.5, 1.5], dtype=np.float16),
            'big_endian': np.array([1.0, 2.0], dtype='>f8'),
            'StructuredToParameterName@@': {'linear.weight': 'linear_0.w_0'}}
    seeds = os.path.join(HERE, '..', 'test', 'fixtures', 'fuzz', 'seeds')
    for protocol in (2, 4):
        with open(os.path.join(seeds, f'tiny_p{protocol}.pdparams'), 'wb') as f:
            pickle.dump(tiny, f, protocol=protocol)


if __name__ == '__main__':
    main()
