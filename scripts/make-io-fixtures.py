#!/usr/bin/env python3
"""Writes the file-format fixtures of test/io-*.test.ts into test/fixtures/io/.

    /usr/bin/python3 scripts/make-io-fixtures.py            # (re)write the fixtures
    /usr/bin/python3 scripts/make-io-fixtures.py --check F  # strictly read a safetensors file F
                                                            # (checks what src/io/safetensors.ts writes)

Needs PyTorch (written with Debian's python3-torch 1.13) and NumPy. Deterministic: fixed seeds and
fixed zip timestamps, so a rerun with the same versions gives byte-identical files (torch.save
itself names the archive after the file and writes no timestamps of its own) -- except
torch_legacy.pt, whose storage keys are memory addresses (str(storage._cdata)) in the legacy
format, so its bytes (not its tensors) change from run to run.

What each file covers (expected.json holds every tensor's dtype, shape and values):
- torch_sd.pt: torch.save(state_dict) of a tiny RepVGG-like block (conv/bn/1x1/linear, official
  names) plus `extra.*` tensors: a transposed view sharing linear.weight's storage (non-contiguous,
  saved as-is), a slice with a storage offset, float16, bfloat16, float64, int32, and BN's 0-d int64
  num_batches_tracked.
- torch_wrapped.pt: {'state_dict': {'module.' + k: v}, 'epoch', 'arch', 'best_acc1', 'optimizer'}:
  a DataParallel training checkpoint.
- torch_model.pt: {'model': state_dict}.
- torch_ema.pt: a timm-like checkpoint {'state_dict', 'state_dict_ema' (names prefixed by
  torch.compile's '_orig_mod.'), 'args': argparse.Namespace, 'metric': a numpy float64 scalar}:
  foreign objects beside the weights must not get in the way.
- torch_legacy.pt: the pre-1.6 non-zip format (_use_new_zipfile_serialization=False).
- torch_deflate.pt: torch_sd.pt's entries recompressed with deflate (zlib, by Python's zipfile).
- torch_zip64.pt: torch_sd.pt's entries re-archived with ZIP64 extra fields and ZIP64 end records
  (Python's zipfile, its ZIP64 thresholds lowered so that every entry needs them).
- torch_module.pt: torch.save(model), a whole pickled nn.Module (must be refused with advice).
- tiny.safetensors: F32, F16, BF16, F64, I64, I32 tensors and __metadata__, written by the
  spec-following writer below (the `safetensors` package is not installed here).
- npy: f4 (v1.0 header), f8, i8, i4, f4 with v2.0 and v3.0 headers, a 0-d array, a Fortran-order
  array and a big-endian one (both must be refused).
"""
import argparse
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'io')
ZIP_TIME = (2020, 1, 1, 0, 0, 0)

# ----------------------------------------------------------------------------- safetensors

ST_DTYPES = {
    np.dtype('float64'): 'F64', np.dtype('float32'): 'F32', np.dtype('float16'): 'F16',
    np.dtype('int64'): 'I64', np.dtype('int32'): 'I32',
}
ST_SIZES = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U8': 1, 'BOOL': 1}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype string, shape, little-endian bytes). Follows the safetensors spec:
    u64 LE header size N, N bytes of JSON padded with spaces to 8 bytes, then the data."""
    header = {}
    if metadata is not None:
        header['__metadata__'] = metadata
    blobs = []
    offset = 0
    # Data in order of decreasing element size, then name: every tensor stays aligned to its
    # element size (the reference implementation orders by dtype the same way).
    for name in sorted(tensors, key=lambda n: (-ST_SIZES[tensors[n][0]], n)):
        dtype, shape, data = tensors[name]
        assert len(data) == int(np.prod(shape, dtype=np.int64)) * ST_SIZES[dtype]
        header[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors_strict(path):
    """A strict reader following the spec (and the reference implementation's checks): header
    size within the file, JSON object starting with '{', tensors contiguous from offset 0 in
    offset order, covering the whole data section, sizes = numel * dtype size."""
    with open(path, 'rb') as f:
        raw = f.read()
    assert len(raw) >= 8, 'file shorter than 8 bytes'
    (n,) = struct.unpack('<Q', raw[:8])
    assert 8 + n <= len(raw), f'header size {n} past the end of the file ({len(raw)} bytes)'
    assert n % 8 == 0, f'header size {n} not a multiple of 8 (the spec pads it)'
    text = raw[8:8 + n]
    assert text[:1] == b'{', 'header does not start with {'
    header = json.loads(text.decode('utf-8'))
    meta = header.pop('__metadata__', None)
    if meta is not None:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), 'metadata not str->str'
    data = raw[8 + n:]
    entries = sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0])
    end = 0
    out = {}
    np_types = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'BF16': '<u2', 'I64': '<i8', 'I32': '<i4'}
    for name, info in entries:
        b, e = info['data_offsets']
        assert b == end, f'{name}: begins at {b}, previous tensor ended at {end}'
        numel = int(np.prod(info['shape'], dtype=np.int64))
        assert e - b == numel * ST_SIZES[info['dtype']], f'{name}: size {e - b} != numel*size'
        assert b % ST_SIZES[info['dtype']] == 0, f'{name}: offset {b} not aligned to its dtype'
        a = np.frombuffer(data[b:e], dtype=np_types[info['dtype']])
        if info['dtype'] == 'BF16':  # numpy has no bfloat16: its bits are float32's upper half
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name] = a.reshape(info['shape'])
        end = e
    assert end == len(data), f'data section has {len(data)} bytes, tensors cover {end}'
    return out, meta


# ----------------------------------------------------------------------------- torch

class TinyBlock(torch.nn.Module):
    """The tensor names of one RepVGG block and the classifier, at toy size."""

    def __init__(self):
        super().__init__()
        self.stage0 = torch.nn.Module()
        for branch, k in (('rbr_dense', 3), ('rbr_1x1', 1)):
            m = torch.nn.Module()
            m.conv = torch.nn.Conv2d(3, 4, k, bias=False)
            m.bn = torch.nn.BatchNorm2d(4)
            setattr(self.stage0, branch, m)
        self.linear = torch.nn.Linear(4, 3)


def tiny_state_dict():
    torch.manual_seed(0)
    model = TinyBlock()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)
    sd = model.state_dict()
    g = torch.Generator().manual_seed(1)
    # Saved as-is (torch.save keeps views and their shared storages): the transposed view has
    # strides (1, 4) over linear.weight's storage; the slice has a storage offset and stride 5.
    sd['extra.transposed'] = sd['linear.weight'].t()
    base = torch.randn(4, 5, generator=g)
    sd['extra.slice'] = base[1:, 2:4]
    sd['extra.half'] = torch.randn(2, 3, generator=g).half()
    sd['extra.bf16'] = torch.randn(3, generator=g).bfloat16()
    sd['extra.double'] = torch.randn(2, 2, generator=g).double()
    sd['extra.int32'] = torch.tensor([[1, -2, 3], [2147483647, -2147483648, 0]], dtype=torch.int32)
    return model, sd


def expected_of(t):
    """dtype, shape and values as JSON; values as exact float32 (or int) of the stored numbers."""
    dtype = str(t.dtype).replace('torch.', '')
    shape = list(t.shape)
    if t.is_floating_point():
        vals = [float(v) for v in t.float().contiguous().view(-1).tolist()]
    elif t.dtype == torch.int64:  # as strings: JSON numbers lose int64 precision past 2**53
        vals = [str(int(v)) for v in t.contiguous().view(-1).tolist()]
    else:
        vals = [int(v) for v in t.contiguous().view(-1).tolist()]
    return {'dtype': dtype, 'shape': shape, 'values': vals}


def rezip(src, dst, compression, zip64=False):
    """Copies the entries of the torch archive src into dst with another compression or with
    ZIP64 records. zipfile decides on ZIP64 by comparing sizes and offsets with module constants;
    lowering them makes it write ZIP64 extra fields and end records for a small file."""
    saved = (zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT)
    if zip64:
        zipfile.ZIP64_LIMIT = 1
        zipfile.ZIP_FILECOUNT_LIMIT = 1
    try:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', compression) as zout:
            for info in zin.infolist():
                zi = zipfile.ZipInfo(info.filename, ZIP_TIME)
                zi.compress_type = compression
                zout.writestr(zi, zin.read(info.filename))
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    expected = {'generator': f'torch {torch.__version__}, numpy {np.__version__}'}

    model, sd = tiny_state_dict()
    expected['torch_sd'] = {k: expected_of(v) for k, v in sd.items()}
    expected['torch_sd_order'] = list(sd.keys())
    expected['torch_module_names'] = list(model.state_dict().keys())
    p = lambda name: os.path.join(OUT, name)
    torch.save(sd, p('torch_sd.pt'))
    torch.save({'state_dict': {'module.' + k: v for k, v in sd.items()}, 'epoch': 3, 'arch': 'tiny',
                'best_acc1': 0.5, 'optimizer': {'state': {}, 'param_groups': [{'lr': 0.1, 'params': [0, 1]}]}},
               p('torch_wrapped.pt'))
    torch.save({'model': sd}, p('torch_model.pt'))
    torch.save({'state_dict': sd, 'state_dict_ema': {'_orig_mod.' + k: v for k, v in sd.items()},
                'args': argparse.Namespace(lr=0.1, model='tiny'), 'metric': np.float64(0.5)}, p('torch_ema.pt'))
    torch.save(sd, p('torch_legacy.pt'), _use_new_zipfile_serialization=False)
    rezip(p('torch_sd.pt'), p('torch_deflate.pt'), zipfile.ZIP_DEFLATED)
    rezip(p('torch_sd.pt'), p('torch_zip64.pt'), zipfile.ZIP_STORED, zip64=True)
    torch.save(model, p('torch_module.pt'))
    for name in ('torch_deflate.pt', 'torch_zip64.pt'):  # torch itself must read what we wrote
        again = torch.load(p(name))
        assert all(torch.equal(again[k], v) for k, v in sd.items()), name
    with zipfile.ZipFile(p('torch_sd.pt')) as z:
        expected['torch_sd_entries'] = [i.filename for i in z.infolist()]

    # safetensors
    rng = np.random.default_rng(2)
    f32 = rng.standard_normal((2, 3)).astype(np.float32)
    f16 = rng.standard_normal((3,)).astype(np.float16)
    bf16_src = torch.from_numpy(rng.standard_normal((2, 2)).astype(np.float32)).bfloat16()
    f64 = rng.standard_normal((2,))
    i64 = np.array([-(2 ** 40), 5, 2 ** 53 + 1], dtype=np.int64)
    i32 = np.array([[7], [-7]], dtype=np.int32)
    scalar = np.array(3.5, dtype=np.float32)
    st = {
        'a.f32': ('F32', f32.shape, f32.astype('<f4').tobytes()),
        'b.f16': ('F16', f16.shape, f16.astype('<f2').tobytes()),
        'c.bf16': ('BF16', tuple(bf16_src.shape), bf16_src.view(torch.int16).numpy().astype('<i2').tobytes()),
        'd.f64': ('F64', f64.shape, f64.astype('<f8').tobytes()),
        'e.i64': ('I64', i64.shape, i64.astype('<i8').tobytes()),
        'f.i32': ('I32', i32.shape, i32.astype('<i4').tobytes()),
        'g.scalar': ('F32', (), scalar.astype('<f4').tobytes()),
    }
    write_safetensors(p('tiny.safetensors'), st, {'format': 'pt', 'note': 'fixture'})
    read_safetensors_strict(p('tiny.safetensors'))
    expected['safetensors'] = {
        'metadata': {'format': 'pt', 'note': 'fixture'},
        'tensors': {
            'a.f32': {'dtype': 'F32', 'shape': [2, 3], 'values': [float(v) for v in f32.ravel()]},
            'b.f16': {'dtype': 'F16', 'shape': [3], 'values': [float(v) for v in f16.astype(np.float32).ravel()]},
            'c.bf16': {'dtype': 'BF16', 'shape': [2, 2], 'values': [float(v) for v in bf16_src.float().view(-1).tolist()]},
            'd.f64': {'dtype': 'F64', 'shape': [2], 'values': [float(v) for v in f64.astype(np.float32).ravel()]},
            'e.i64': {'dtype': 'I64', 'shape': [3], 'values': [str(v) for v in i64.ravel()]},  # str: past 2**53
            'f.i32': {'dtype': 'I32', 'shape': [2, 1], 'values': [int(v) for v in i32.ravel()]},
            'g.scalar': {'dtype': 'F32', 'shape': [], 'values': [3.5]},
        },
    }

    # npy
    arrays = {
        'f4': rng.standard_normal((2, 3, 4)).astype('<f4'),
        'f8': rng.standard_normal((3, 2)).astype('<f8'),
        'i8': np.array([[-(2 ** 62), 1], [2, 2 ** 53 + 3]], dtype='<i8'),
        'i4': np.arange(-3, 3, dtype='<i4').reshape(2, 3),
        'scalar': np.array(-1.25, dtype='<f4'),
    }
    expected['npy'] = {}
    for name, a in arrays.items():
        np.save(p(f'{name}.npy'), a, allow_pickle=False)
        vals = [str(v) for v in a.ravel()] if a.dtype == np.int64 else [float(v) if a.dtype.kind == 'f' else int(v) for v in a.astype(np.float32 if a.dtype.kind == 'f' else a.dtype).ravel()]
        expected['npy'][name] = {'descr': a.dtype.str, 'shape': list(a.shape), 'values': vals}
    for version in ((2, 0), (3, 0)):
        with open(p(f'f4_v{version[0]}.npy'), 'wb') as f:
            np.lib.format.write_array(f, arrays['f4'], version=version, allow_pickle=False)
    np.save(p('fortran.npy'), np.asfortranarray(arrays['f8']), allow_pickle=False)
    np.save(p('bigendian.npy'), arrays['f4'].astype('>f4'), allow_pickle=False)

    with open(p('expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write('\n')
    total = sum(os.path.getsize(p(n)) for n in os.listdir(OUT))
    print(f'wrote {len(os.listdir(OUT))} files, {total} bytes, into {os.path.normpath(OUT)}')


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--check':
        tensors, meta = read_safetensors_strict(sys.argv[2])
        for k, v in tensors.items():
            print(k, v.dtype, list(v.shape), 'sum', float(v.astype(np.float64).sum()))
        print('metadata', meta)
        print('ok: read', len(tensors), 'tensors')
    else:
        main()
