# Writes test/fixtures/images/: PNG and JPEG files and what PIL decodes from them, and
# torchvision's eval preprocessing of a few images, for test/png.test.ts, test/jpeg.test.ts,
# test/resize.test.ts and test/preprocess.test.ts.
#
#   /usr/bin/python3 scripts/make-image-fixtures.py
#
# Needs Debian's python3-pil, python3-torchvision (0.14) and libjpeg-turbo-progs (cjpeg and
# jpegtran, for restart markers and the 4:4:0 / 4:1:1 subsamplings PIL cannot write). Deterministic.
#
# PNGs come from a small encoder below (PIL cannot write interlaced, 16-bit RGB or every filter
# type), so that every colour type, bit depth, filter, tRNS and Adam7 is covered; PIL then decodes
# them, independently of how they were made. JPEGs come from PIL (libjpeg-turbo 2.1) and cjpeg /
# jpegtran. Expected pixels are stored base64 in expected.json.
import base64
import json
import os
import struct
import subprocess
import tempfile
import zlib

import numpy as np
import torch
from PIL import Image
from torchvision import transforms
from torchvision.transforms import functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'images')
os.makedirs(OUT, exist_ok=True)
expected = {'png': {}, 'jpeg': {}, 'preprocess': {}}


def b64(a):
    a = np.ascontiguousarray(a)
    if a.dtype == np.uint16:
        a = a.astype('<u2')
    elif a.dtype == np.float32:
        a = a.astype('<f4')
    return base64.b64encode(a.tobytes()).decode()


# ------------------------------------------------------------------------------------------------
# PNG

def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)


def pack_row(row, depth):
    """row: 1-D array of samples -> bytes at `depth` bits (MSB first)."""
    if depth == 8:
        return bytes(row.astype(np.uint8))
    if depth == 16:
        return row.astype('>u2').tobytes()
    out = bytearray()
    per = 8 // depth
    for i in range(0, len(row), per):
        b = 0
        for j in range(per):
            v = int(row[i + j]) if i + j < len(row) else 0
            b |= v << (8 - depth * (j + 1))
        out.append(b)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp, first_filter):
    """Filters packed rows, the filter type cycling 0..4 from `first_filter`."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b''
    for y, row in enumerate(rows):
        ft = (first_filter + y) % 5
        out.append(ft)
        for i in range(len(row)):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            x = row[i]
            pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][ft]
            out.append((x - pred) & 255)
        prev = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def encode_png(samples, color_type, depth, palette=None, trns=None, interlace=False):
    h, w, c = samples.shape
    bpp = max(1, depth * c // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b''
    for k, (x0, y0, dx, dy) in enumerate(passes):
        sub = samples[y0::dy, x0::dx, :]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [pack_row(sub[y].reshape(-1), depth) for y in range(sub.shape[0])]
        raw += filter_rows(rows, bpp, k)
    z = zlib.compress(raw, 9)
    out = b'\x89PNG\r\n\x1a\n'
    out += chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    out += chunk(b'tEXt', b'Comment\x00an ancillary chunk the decoder skips')
    if palette is not None:
        out += chunk(b'PLTE', bytes(palette.astype(np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b'tRNS', trns)
    for i in range(0, len(z), 97):  # several IDAT chunks
        out += chunk(b'IDAT', z[i:i + 97])
    out += chunk(b'IEND', b'')
    return out


rng = np.random.RandomState(12)


def pattern(h, w, c, maxv):
    """Gradients, stripes and noise: every value range, neighbours that differ."""
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for k in range(c):
        v = (x * (k + 3) * maxv // max(1, w - 1) + y * (k + 1) * maxv // max(1, h - 1)) % (maxv + 1)
        noise = rng.randint(0, maxv + 1, size=(h, w))
        v = np.where((x + y + k) % 3 == 0, noise, v)
        planes.append(v)
    return np.stack(planes, axis=-1).astype(np.int64)


def png_case(name, color_type, depth, interlace=False, size=(11, 13), trns=None, palette_entries=None):
    h, w = size
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    maxv = (1 << depth) - 1
    palette = None
    if color_type == 3:
        n = palette_entries or (1 << depth)
        samples = pattern(h, w, 1, n - 1)
        palette = rng.randint(0, 256, size=(n, 3))
        if trns is not None:
            trns = bytes(rng.randint(0, 256, size=min(n, trns)).astype(np.uint8))
    else:
        samples = pattern(h, w, channels, maxv)
        if trns is not None:
            key = samples[2, 3, :channels]  # a colour that occurs
            trns = b''.join(struct.pack('>H', int(v)) for v in key)
    data = encode_png(samples, color_type, depth, palette, trns, interlace)
    path = os.path.join(OUT, f'{name}.png')
    open(path, 'wb').write(data)
    im = Image.open(path)
    im.load()
    entry = {'file': f'{name}.png', 'width': w, 'height': h, 'pilMode': im.mode}
    # What PIL gives, converted the way a user of PIL would to get these channels.
    if color_type == 3:
        pil = np.array(im.convert('RGBA' if trns is not None else 'RGB'))
    elif color_type == 0 and trns is not None:
        pil = np.array(im.convert('LA'))
    elif color_type == 2 and trns is not None:
        pil = np.array(im.convert('RGBA'))
    elif color_type == 0 and depth < 16:
        pil = np.array(im.convert('L'))
    elif color_type == 4:
        pil = np.array(im.convert('LA'))  # PIL opens 16-bit gray + alpha as RGBA
    else:
        pil = np.array(im)
    pil = pil.reshape(h, w, -1)
    if im.mode == 'I':
        entry['pil'] = b64(pil.astype(np.uint16))
        entry['pilDepth'] = 16
    else:
        entry['pil'] = b64(pil.astype(np.uint8))
        entry['pilDepth'] = 8
    entry['pilChannels'] = int(pil.shape[2])
    # PIL keeps 16 bits only for gray (mode I); RGB(A) and LA come back as their high byte.
    entry['pilHighByte'] = depth == 16 and im.mode != 'I'
    if depth == 16:
        entry['source16'] = b64(samples.astype(np.uint16))
    expected['png'][name] = entry


png_case('gray1', 0, 1)
png_case('gray2', 0, 2, interlace=True)
png_case('gray4', 0, 4)
png_case('gray8', 0, 8, interlace=True, size=(9, 17))
png_case('gray16', 0, 16)
png_case('gray16_adam7', 0, 16, interlace=True)
png_case('rgb8', 2, 8)
png_case('rgb8_adam7', 2, 8, interlace=True, size=(1, 1))
png_case('rgb8_adam7_odd', 2, 8, interlace=True, size=(7, 5))
png_case('rgb16', 2, 16)
png_case('rgb16_adam7', 2, 16, interlace=True)
png_case('pal1', 3, 1)
png_case('pal2', 3, 2, interlace=True)
png_case('pal4', 3, 4, palette_entries=11)
png_case('pal8', 3, 8, size=(20, 23))
png_case('pal8_trns', 3, 8, interlace=True, trns=40, palette_entries=60)
png_case('ga8', 4, 8)
png_case('ga16', 4, 16, interlace=True)
png_case('rgba8', 6, 8, interlace=True)
png_case('rgba16', 6, 16)
png_case('gray8_trns', 0, 8, trns=True)
png_case('rgb8_trns', 2, 8, interlace=True, trns=True)

# One PNG written by PIL itself (another encoder: its own filter choice and zlib settings).
pil_src = Image.fromarray(pattern(19, 29, 3, 255).astype(np.uint8), 'RGB')
pil_src.save(os.path.join(OUT, 'pil_rgb.png'), optimize=True)
expected['png']['pil_rgb'] = {
    'file': 'pil_rgb.png', 'width': 29, 'height': 19, 'pilMode': 'RGB', 'pilDepth': 8, 'pilChannels': 3,
    'pilHighByte': False, 'pil': b64(np.array(Image.open(os.path.join(OUT, 'pil_rgb.png')))),
}

# PIL's convert('L') and convert('RGB') of a few (what toChannels must give): luma, dropped alpha.
expected['convert'] = {}
for name in ['rgb8', 'rgba8', 'pal8_trns', 'ga8', 'gray4', 'rgb16']:
    im = Image.open(os.path.join(OUT, f'{name}.png'))
    expected['convert'][name] = {'file': f'{name}.png', 'L': b64(np.array(im.convert('L'))), 'RGB': b64(np.array(im.convert('RGB')))}

# ------------------------------------------------------------------------------------------------
# JPEG


def photo(h, w):
    """A smooth image with edges and a little noise: chroma upsampling and the IDCT both matter."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 255 * (x / max(1, w - 1)) * (0.5 + 0.5 * np.cos(y / 5.0))
    b = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2, 230, 30 + y * 2)
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, size=(h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


SRC = photo(37, 45)  # not a multiple of the 16-pixel MCU: partial blocks on both edges
src_im = Image.fromarray(SRC, 'RGB')
tmp = tempfile.mkdtemp()
ppm = os.path.join(tmp, 'src.ppm')
src_im.save(ppm)


def jpeg_case(name, path_or_bytes, mode='RGB', note=''):
    path = os.path.join(OUT, f'{name}.jpg')
    if isinstance(path_or_bytes, bytes):
        open(path, 'wb').write(path_or_bytes)
    im = Image.open(path)
    im.load()
    pil = np.array(im.convert(mode))
    expected['jpeg'][name] = {
        'file': f'{name}.jpg', 'width': im.size[0], 'height': im.size[1], 'pilMode': im.mode,
        'channels': 1 if mode == 'L' else 3, 'pil': b64(pil), 'note': note,
        'progressive': bool(im.info.get('progressive', 0) or im.info.get('progression', 0)),
    }


def pil_jpeg(name, im, note, **kw):
    path = os.path.join(OUT, f'{name}.jpg')
    im.save(path, **kw)
    jpeg_case(name, path, 'L' if im.mode == 'L' else 'RGB', note)


def run(args, data=None):
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


pil_jpeg('baseline_420', src_im, 'PIL, quality 90, 4:2:0', quality=90, subsampling=2)
pil_jpeg('baseline_422', src_im, 'PIL, quality 85, 4:2:2', quality=85, subsampling=1)
pil_jpeg('baseline_444', src_im, 'PIL, quality 95, 4:4:4', quality=95, subsampling=0)
pil_jpeg('baseline_optimized', src_im, 'PIL, quality 75, 4:2:0, optimized Huffman tables', quality=75, subsampling=2, optimize=True)
pil_jpeg('gray', src_im.convert('L'), 'PIL, grayscale, quality 90', quality=90)
pil_jpeg('progressive_420', src_im, 'PIL, progressive, quality 90, 4:2:0', quality=90, subsampling=2, progressive=True)
pil_jpeg('progressive_444', src_im, 'PIL, progressive, quality 80, 4:4:4', quality=80, subsampling=0, progressive=True)
pil_jpeg('progressive_gray', src_im.convert('L'), 'PIL, progressive grayscale', quality=85, progressive=True)
big = Image.fromarray(photo(120, 161), 'RGB')  # more blocks: varied refinement scans, long EOB runs
pil_jpeg('large_baseline', big, 'PIL, 161x120, quality 70, 4:2:0', quality=70, subsampling=2)
pil_jpeg('large_progressive', big, 'PIL, 161x120, progressive, quality 70, 4:2:0', quality=70, subsampling=2, progressive=True)
pil_jpeg('cmyk', src_im.convert('CMYK'), 'PIL, CMYK (Adobe marker, inverted)', quality=90)
jpeg_case('restart_420', run(['cjpeg', '-quality', '88', '-sample', '2x2', '-restart', '3B', ppm]), note='cjpeg, restart every 3 MCUs')
jpeg_case('restart_progressive', run(['jpegtran', '-progressive', '-restart', '2B', os.path.join(OUT, 'baseline_444.jpg')]),
          note='jpegtran: progressive with restart markers every 2 MCUs')
jpeg_case('sample_440', run(['cjpeg', '-quality', '90', '-sample', '1x2', ppm]), note='cjpeg, 4:4:0 (chroma halved vertically)')
jpeg_case('sample_411', run(['cjpeg', '-quality', '90', '-sample', '4x1', ppm]), note='cjpeg, 4:1:1 (chroma a quarter wide)')
Image.fromarray(SRC[:3, :2], 'RGB').save(os.path.join(tmp, 'tiny.ppm'))
jpeg_case('tiny_420', run(['cjpeg', '-quality', '90', '-sample', '2x2', os.path.join(tmp, 'tiny.ppm')]),
          note='cjpeg, 2x3 pixels, 4:2:0 (one partial MCU)')
open(os.path.join(OUT, 'arithmetic.jpg'), 'wb').write(run(['cjpeg', '-arithmetic', ppm]))

# ------------------------------------------------------------------------------------------------
# Preprocessing: torchvision 0.14's transforms on PIL images


def pre_case(name, im, resize, crop, mean, std):
    resized = transforms.Resize(resize)(im)  # bilinear, PIL's antialiased resampling
    t = transforms.Compose([transforms.CenterCrop(crop), transforms.ToTensor(), transforms.Normalize(mean, std)])(resized)
    src = f'pre_{name}.png'
    im.save(os.path.join(OUT, src))
    expected['preprocess'][name] = {
        'file': src, 'resize': resize, 'crop': list(crop) if isinstance(crop, (list, tuple)) else [crop, crop],
        'mean': mean, 'std': std, 'resizedWidth': resized.size[0], 'resizedHeight': resized.size[1],
        'resized': b64(np.array(resized)), 'tensor': b64(t.numpy().astype(np.float32)), 'shape': list(t.shape),
    }


IMN = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
pre_case('down', Image.fromarray(photo(70, 97), 'RGB'), 64, (51, 57), *IMN)          # crop offsets 6.5 -> 6, 15.5 -> 16
pre_case('far_down', Image.fromarray(photo(200, 300), 'RGB'), 40, 32, *IMN)          # a wide antialiasing filter
pre_case('up', Image.fromarray(photo(15, 20), 'RGB'), 32, 32, *IMN)                  # enlarging
pre_case('tall', Image.fromarray(photo(81, 40), 'RGB'), 36, 32, *IMN)                # width is the shorter side
pre_case('gray_pad', Image.fromarray(photo(61, 50)[:, :, 1], 'L'), 28, 32, [0.1307], [0.3081])  # crop larger: zero padding
# torchvision's resized_crop (what RandomResizedCrop does once it has drawn its box).
im = Image.fromarray(photo(70, 97), 'RGB')
im.save(os.path.join(OUT, 'pre_box.png'))
box = F.resized_crop(im, 5, 9, 40, 33, [32, 32])
expected['preprocess_box'] = {'file': 'pre_box.png', 'top': 5, 'left': 9, 'height': 40, 'width': 33, 'size': 32,
                              'resized': b64(np.array(box))}

json.dump(expected, open(os.path.join(OUT, 'expected.json'), 'w'), indent=1, sort_keys=True)
print(f"wrote {len(expected['png'])} PNG, {len(expected['jpeg'])} JPEG and {len(expected['preprocess']) + 1} preprocessing cases to {OUT}")
