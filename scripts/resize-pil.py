#!/usr/bin/env python3
"""Pillow's antialiased bilinear and bicubic resizes of generated images, for test/preprocess.test.ts:
writes test/fixtures/resize-pil.json.

Run with Debian's python3-pil (/usr/bin/python3 scripts/resize-pil.py). Each image is pixel(x, y, c) =
(x * 7 + y * 13 + c * 50 + (x * y) % 31) % 256, RGB; it is resized so that its shorter side is `resize`
(the other side rounded, as src/preprocess/preprocess.ts's resizedSize does) and center cropped to `crop`
(origin floor((size - crop) / 2)). The output is the crop's bytes, row-major RGB, in base64.
"""
import base64
import json
import os

import PIL
from PIL import Image

CASES = [
    dict(width=150, height=100, resize=80, crop=64),  # shrink by 1.25
    dict(width=49, height=66, resize=60, crop=56),  # enlarge
    dict(width=320, height=240, resize=128, crop=112),  # shrink by 1.875, as a photo to 256 / 224
]


def pixel(x, y, c):
    return (x * 7 + y * 13 + c * 50 + (x * y) % 31) % 256


out = []
for case in CASES:
    w, h = case['width'], case['height']
    img = Image.new('RGB', (w, h))
    img.putdata([tuple(pixel(x, y, c) for c in range(3)) for y in range(h) for x in range(w)])
    scale = case['resize'] / min(w, h)
    size = (case['resize'], max(1, round(h * scale))) if w <= h else (max(1, round(w * scale)), case['resize'])
    for name, method in [('bilinear', Image.BILINEAR), ('bicubic', Image.BICUBIC)]:
        resized = img.resize(size, method)
        x0, y0 = (size[0] - case['crop']) // 2, (size[1] - case['crop']) // 2
        cropped = resized.crop((x0, y0, x0 + case['crop'], y0 + case['crop']))
        out.append({**case, 'interpolation': name, 'pixels': base64.b64encode(cropped.tobytes()).decode()})

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'resize-pil.json')
with open(path, 'w') as f:
    json.dump({'pillow': PIL.__version__, 'cases': out}, f)
print(f'wrote {path}: {len(out)} cases, Pillow {PIL.__version__}')
