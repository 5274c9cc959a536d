#!/usr/bin/env python3
"""Reference logits of ResNet-family networks built by timm and torchvision themselves, for
test/family.test.ts: writes test/fixtures/family-golden.json.

Run with Debian's python3-torch and python3-torchvision and timm's source on the path (PyPI is not needed):
  PYTHONPATH=/path/to/pytorch-image-models /usr/bin/python3 scripts/family-torch.py [network ...]
With --shapes it writes bench/family-shapes.json instead: the state_dict names and shapes of full-size
networks (ResNet-50, ResNeXt-50 32x4d, Wide ResNet-50-2, ResNet-50-D, SE-ResNet-50), for the bench.

Every parameter is filled by the deterministic generator of ../shared/golden/README.md (u(name, i) over the
state_dict key, the same rules by kind: conv weights scaled by their fan-in, BatchNorm near identity, the
last BatchNorm of each residual branch times 1/8, biases u/8, fc as the README says), so the test rebuilds
the same state_dict from the names and shapes written here and needs no weight file. The input is
u("input", i) over [2, 3, SIZE, SIZE] NCHW; the logits are computed in float64. Networks are small members
of each family (one or two blocks per stage, 100 classes, an 80x80 input: odd sizes deep in the net, so the
average-pool shortcut's ceil mode matters), built by the libraries' own classes and named models.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torchvision

import timm
from timm.layers import BatchNormAct2d, create_conv2d
from timm.models.resnet import Bottleneck, BasicBlock, ResNet
from timm.models.resnetv2 import ResNetV2
from timm.models.senet import SENet, SEBottleneck, SEResNetBlock, SEResNetBottleneck, SEResNeXtBottleneck

SIZE = 80
CLASSES = 100


def mix(x):
    x = x.astype(np.uint64) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode('utf-8'):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def u(name, n):
    i = np.arange(n, dtype=np.uint64)
    return (mix(np.uint64(fnv1a(name)) ^ mix(i)) >> 8).astype(np.float64) / 2**23 - 1


def p2(v):
    return 2.0 ** round(math.log2(v))


def generate(name, shape, last_bn):
    """One parameter by the golden README's rules (float64, rounded once to float32)."""
    n = int(np.prod(shape)) if shape else 1
    x = u(name, n)
    if len(shape) == 4:
        v = x * p2(math.sqrt(6 / (shape[1] * shape[2] * shape[3])))
    elif name in ('fc.weight', 'last_linear.weight'):
        v = x * p2(math.sqrt(3 / shape[1]))
    elif name in ('fc.bias', 'last_linear.bias'):
        v = x * 2**-7
    elif name.endswith('.running_mean'):
        v = x / 8
    elif name.endswith('.running_var'):
        v = 1 + (x + 1) / 2
    elif name.endswith('.weight'):
        v = (1 + x / 4) * (1 / 8 if last_bn else 1)
    elif name.endswith('.bias'):
        v = x / 8
    else:
        raise ValueError(f'no generator rule for {name}')
    return torch.tensor(v.astype(np.float32).reshape(shape))


def timm_resnet(block, layers, **kwargs):
    return ResNet(block=block, layers=layers, num_classes=CLASSES, **kwargs)


def legacy_senet(block, groups):
    return SENet(block=block, layers=[1, 1, 1, 1], groups=groups, reduction=16, num_classes=CLASSES)


def tv_resnet(block, layers, **kwargs):
    return torchvision.models.resnet.ResNet(block, layers, num_classes=CLASSES, **kwargs)


TV = torchvision.models.resnet
# name -> (how it is built, in words; the network; the block kind)
NETWORKS = {
    'timm-resnet26': ("timm resnet26 (Bottleneck, layers 2,2,2,2)", lambda: timm.create_model('resnet26', num_classes=CLASSES)),
    'timm-resnet18d': ("timm resnet18d (deep stem, avg-pool shortcut)", lambda: timm.create_model('resnet18d', num_classes=CLASSES)),
    'timm-resnet26d': ("timm resnet26d (deep stem, avg-pool shortcut)", lambda: timm.create_model('resnet26d', num_classes=CLASSES)),
    'timm-resnet10t': ("timm resnet10t (tiered deep stem, avg-pool shortcut)", lambda: timm.create_model('resnet10t', num_classes=CLASSES)),
    'timm-resnet14c': ("timm ResNet(Bottleneck, 1,1,1,1, stem_type='deep')", lambda: timm_resnet(Bottleneck, (1, 1, 1, 1), stem_type='deep', stem_width=32)),
    'tv-wide_resnet14_2': ("torchvision ResNet(Bottleneck, 1,1,1,1, width_per_group=128)", lambda: tv_resnet(TV.Bottleneck, [1, 1, 1, 1], width_per_group=128)),
    'timm-wide_resnet14_2': ("timm ResNet(Bottleneck, 1,1,1,1, base_width=128)", lambda: timm_resnet(Bottleneck, (1, 1, 1, 1), base_width=128)),
    'tv-resnext14_32x4d': ("torchvision ResNet(Bottleneck, 1,1,1,1, groups=32, width_per_group=4)", lambda: tv_resnet(TV.Bottleneck, [1, 1, 1, 1], groups=32, width_per_group=4)),
    'timm-resnext26d_32x4d': ("timm ResNet(Bottleneck, 2,2,2,2, cardinality=32, base_width=4, deep stem, avg down)", lambda: timm_resnet(Bottleneck, (2, 2, 2, 2), cardinality=32, base_width=4, stem_type='deep', stem_width=32, avg_down=True)),
    'timm-seresnet14': ("timm ResNet(Bottleneck, 1,1,1,1, attn_layer='se')", lambda: timm_resnet(Bottleneck, (1, 1, 1, 1), block_args=dict(attn_layer='se'))),
    'timm-seresnext26d_32x4d': ("timm seresnext26d_32x4d", lambda: timm.create_model('seresnext26d_32x4d', num_classes=CLASSES)),
    'timm-seresnet10': ("timm ResNet(BasicBlock, 1,1,1,1, attn_layer='se')", lambda: timm_resnet(BasicBlock, (1, 1, 1, 1), block_args=dict(attn_layer='se'))),
    'timm-resnetv2_18': ("timm resnetv2_18 (pre-activation, basic blocks)", lambda: timm.create_model('resnetv2_18', num_classes=CLASSES)),
    'timm-resnetv2_14': ("timm ResNetV2(layers 1,1,1,1) (pre-activation bottlenecks)", lambda: ResNetV2(layers=(1, 1, 1, 1), conv_layer=create_conv2d, norm_layer=BatchNormAct2d, num_classes=CLASSES)),
    'timm-resnetv2_14d': ("timm ResNetV2(layers 1,1,1,1, stem_type='deep', avg_down=True) (as resnetv2_50d)", lambda: ResNetV2(layers=(1, 1, 1, 1), conv_layer=create_conv2d, norm_layer=BatchNormAct2d, stem_type='deep', avg_down=True, num_classes=CLASSES)),
    'timm-legacy_seresnet10': ("timm SENet(SEResNetBlock, 1,1,1,1) (as legacy_seresnet18: ceil-mode stem pool, ReLU before the gate)", lambda: legacy_senet(SEResNetBlock, 1)),
    'timm-legacy_seresnet14': ("timm SENet(SEResNetBottleneck, 1,1,1,1) (as legacy_seresnet50: stride on conv1)", lambda: legacy_senet(SEResNetBottleneck, 1)),
    'timm-legacy_seresnext14_32x4d': ("timm SENet(SEResNeXtBottleneck, 1,1,1,1, groups=32) (as legacy_seresnext50_32x4d)", lambda: legacy_senet(SEResNeXtBottleneck, 32)),
}


# Members the engine refuses: only their state_dict names and shapes are written (the test checks the refusal).
REFUSED = {
    'timm-ecaresnet26t': lambda: timm.create_model('ecaresnet26t', num_classes=CLASSES),
    'timm-resnetv2_50x1_bit': lambda: timm.create_model('resnetv2_50x1_bit', num_classes=CLASSES),
    'timm-res2net50_26w_4s': lambda: timm.create_model('res2net50_26w_4s', num_classes=CLASSES),
    'timm-skresnet18': lambda: timm.create_model('skresnet18', num_classes=CLASSES),
    'timm-resnet50_gn': lambda: timm.create_model('resnet50_gn', num_classes=CLASSES),
    'timm-resnetrs50': lambda: timm.create_model('resnetrs50', num_classes=CLASSES),
    'timm-resnext26ts': lambda: timm.create_model('resnext26ts', num_classes=CLASSES),
    'timm-resnest14d': lambda: timm.create_model('resnest14d', num_classes=CLASSES),
    'timm-resnetv2_50d_evos': lambda: timm.create_model('resnetv2_50d_evos', num_classes=CLASSES),
    'timm-nf_resnet26': lambda: timm.create_model('nf_resnet26', num_classes=CLASSES),
    'timm-legacy_senet14': lambda: SENet(block=SEBottleneck, layers=[1, 1, 1, 1], groups=64, reduction=16, inplanes=128, input_3x3=True, downsample_kernel_size=3, downsample_padding=1, num_classes=CLASSES),
}

# The pooled features (the global average pool's output: what embed returns) recorded for some networks.
FEATURES = {'timm-seresnext26d_32x4d', 'timm-resnetv2_14'}

# Residual-block lesions (Veit et al. 2016) checked on some networks: the blocks deleted, by state_dict name.
LESIONS = {
    'timm-resnet26d': [['layer2.0', 'layer3.1'], ['layer1.0']],
    'timm-resnet18d': [['layer4.0']],
    'timm-seresnext26d_32x4d': [['layer3.0'], ['layer2.1']],
}
# (ResNetV2's blocks have no ReLU after the sum: deleting an identity block is not y = relu(x); not listed)


class Lesion(torch.nn.Module):
    """A deleted block: y = relu(shortcut(x)), the shortcut the identity or the block's downsample."""

    def __init__(self, block):
        super().__init__()
        self.downsample = block.downsample

    def forward(self, x):
        return torch.relu(self.downsample(x) if self.downsample is not None else x)


def lesioned_logits(model, names, x):
    saved = {}
    for name in names:
        stage, index = name.split('.')
        layer = getattr(model, stage)
        saved[name] = layer[int(index)]
        layer[int(index)] = Lesion(layer[int(index)])
    with torch.no_grad():
        logits = model(x)
    for name, block in saved.items():
        stage, index = name.split('.')
        getattr(model, stage)[int(index)] = block
    return [[float(v) for v in row] for row in logits]


# Full-size networks for bench/ (timing with generated weights): only their state_dict names and shapes are written.
FULL_SIZE = {
    'resnet50': lambda: TV.resnet50(),
    'resnext50_32x4d': lambda: TV.resnext50_32x4d(),
    'wide_resnet50_2': lambda: TV.wide_resnet50_2(),
    'resnet50d': lambda: timm.create_model('resnet50d'),
    'seresnet50': lambda: timm.create_model('seresnet50'),
}


def write_shapes():
    out = {}
    for key, make in FULL_SIZE.items():
        state = make().state_dict()
        out[key] = [[name, list(t.shape)] for name, t in state.items() if not name.endswith('num_batches_tracked')]
    path = os.path.join(os.path.dirname(__file__), '..', 'bench', 'family-shapes.json')
    with open(path, 'w') as f:
        json.dump(out, f)
    print(f'wrote {path}')


def main():
    if sys.argv[1:] == ['--no-main']:  # imported by scripts/family-onnx.py
        return None
    if sys.argv[1:] == ['--shapes']:
        return write_shapes()
    only = set(sys.argv[1:])
    torch.manual_seed(0)
    x = torch.tensor(u('input', 2 * 3 * SIZE * SIZE).astype(np.float32).reshape(2, 3, SIZE, SIZE)).double()
    out = {}
    for key, (how, make) in NETWORKS.items():
        if only and key not in only:
            continue
        model = make().eval()
        bottleneck = any(k.endswith('conv3.weight') for k in model.state_dict())
        last = '.bn3.' if bottleneck else '.bn2.'
        state, params = {}, []
        for name, t in model.state_dict().items():
            if name.endswith('num_batches_tracked'):
                state[name] = t
                continue
            shape = list(t.shape)
            state[name] = generate(name, shape, last in name and name.startswith('layer'))
            params.append([name, shape])
        model.load_state_dict(state)
        with torch.no_grad():
            logits = model.double()(x)
        features = None
        if key in FEATURES:
            with torch.no_grad():
                features = model.forward_features(x).mean((2, 3))
        lesions = {}
        for names in LESIONS.get(key, []):
            lesions[','.join(names)] = lesioned_logits(model, names, x)
        out[key] = {
            'built': how,
            'block': 'bottleneck' if bottleneck else 'basic',
            'params': params,
            'logits': [[float(v) for v in row] for row in logits],
            'top5': [[int(i) for i in row] for row in logits.topk(5).indices],
            **({'lesions': lesions} if lesions else {}),
            **({'features': [[float(v) for v in row] for row in features]} if features is not None else {}),
        }
        print(f'{key}: {len(params)} tensors, {sum(int(np.prod(s)) for _, s in params):,} values')
    refused = {}
    for key, make in REFUSED.items():
        state = make().state_dict()
        refused[key] = [[name, list(t.shape)] for name, t in state.items() if not name.endswith('num_batches_tracked')]
    path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'family-golden.json')
    with open(path, 'w') as f:
        json.dump({'refused': refused,'torch': torch.__version__, 'torchvision': torchvision.__version__, 'timm': timm.__version__,
                   'input': [2, 3, SIZE, SIZE], 'classes': CLASSES, 'models': out}, f)
    print(f'wrote {path}')


main()
