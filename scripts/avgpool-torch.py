#!/usr/bin/env python3
"""PyTorch's AvgPool2d on small inputs, for test/kernels.test.ts: writes test/fixtures/avgpool-torch.json.

Run with Debian's python3-torch (/usr/bin/python3 scripts/avgpool-torch.py). Each input is
x[i] = sin(0.37 i) in NCHW order, rounded to float32, as the test makes it again; the output is NHWC.
"""
import json
import math
import os

import torch

CASES = [
    # ResNet-D's average-pool shortcut: 2x2, stride 2, ceil_mode, count_include_pad false (odd sizes: ceil matters)
    dict(n=2, c=5, h=7, w=9, k=2, s=2, p=0, ceil=True, count=False),
    dict(n=1, c=8, h=14, w=14, k=2, s=2, p=0, ceil=True, count=False),
    # a padded 3x3 window, ceil mode, both divisors
    dict(n=2, c=6, h=9, w=6, k=3, s=2, p=1, ceil=True, count=True),
    dict(n=2, c=6, h=9, w=6, k=3, s=2, p=1, ceil=True, count=False),
    dict(n=1, c=4, h=5, w=8, k=3, s=1, p=1, ceil=False, count=True),
]

out = []
for c in CASES:
    count = c['n'] * c['c'] * c['h'] * c['w']
    x = torch.tensor([math.sin(0.37 * i) for i in range(count)], dtype=torch.float32).reshape(c['n'], c['c'], c['h'], c['w'])
    pool = torch.nn.AvgPool2d(c['k'], stride=c['s'], padding=c['p'], ceil_mode=c['ceil'], count_include_pad=c['count'])
    y = pool(x).permute(0, 2, 3, 1).contiguous()
    out.append({**c, 'shape': list(y.shape), 'output': [float(v) for v in y.flatten()]})

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'avgpool-torch.json')
with open(path, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': out}, f)
print(f'wrote {path}: {len(out)} cases, torch {torch.__version__}')
