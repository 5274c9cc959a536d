#!/usr/bin/env python3
"""ONNX files of the family fixture's networks as PyTorch itself exports them (torch.onnx.export, opset 13
and 17), for bench/family-onnx-check.ts: the engine must read what PyTorch writes, not only what its own
ONNX writer writes. Weights as in test/fixtures/family-golden.json (the golden generator), so the logits
there are the reference. The files are large: written to a folder of your choice, not committed.

  PYTHONPATH=/path/to/pytorch-image-models /usr/bin/python3 scripts/family-onnx.py OUT_DIR [network ...]
"""
import importlib.util
import os
import sys

import torch

spec = importlib.util.spec_from_file_location('family', os.path.join(os.path.dirname(__file__), 'family-torch.py'))
family = importlib.util.module_from_spec(spec)
sys.argv, argv = [sys.argv[0], '--no-main'], sys.argv
spec.loader.exec_module(family)

out = argv[1]
only = set(argv[2:])
os.makedirs(out, exist_ok=True)
x = torch.zeros(1, 3, family.SIZE, family.SIZE)
for key, (how, make) in family.NETWORKS.items():
    if only and key not in only:
        continue
    model = make().eval()
    bottleneck = any(k.endswith('conv3.weight') for k in model.state_dict())
    last = '.bn3.' if bottleneck else '.bn2.'
    state = {}
    for name, t in model.state_dict().items():
        state[name] = t if name.endswith('num_batches_tracked') else family.generate(name, list(t.shape), last in name and name.startswith('layer'))
    model.load_state_dict(state)
    for opset in (13, 17):
        path = os.path.join(out, f'{key}-opset{opset}.onnx')
        torch.onnx.export(model, x, path, opset_version=opset, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
        print(f'wrote {path}')
