"""Torchvision-style ResNet-50 / ResNet-18 truncated after layer3 (outputs f16, f8, f4).

The key encoder (ResNet-50) names its layer1 `res2`, as the released XMem checkpoints do; the
value encoder (ResNet-18) keeps `layer1`. Input: ImageNet mean/std-normalised RGB (+ mask channels).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn

from xmem_core.model.modules import add_into


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)


def _downsample(cin: int, cout: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """ResNet-18/34 block: 3×3, 3×3, identity or 1×1 projection shortcut."""

    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv(cin, width, 3, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv(width, width, 3)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = _downsample(cin, width, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(add_into(out, shortcut))


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3×3 conv)."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv(cin, width, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv(width, width * 4, 1)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, width * 4, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(add_into(out, shortcut))


class ResNetTrunk(nn.Module):
    """Stem + layer1..3. forward(x: B×Cin×H×W) -> (f16 B×C16×H/16×W/16, f8 B×C8×H/8, f4 B×C4×H/4)."""

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: tuple[int, int, int],
                 in_channels: int = 3, layer1_name: str = "layer1") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = 64
        stages = []
        for width, n, stride in zip((64, 128, 256), layers, (1, 2, 2), strict=True):
            blocks = []
            for i in range(n):
                blocks.append(block(cin, width, stride if i == 0 else 1))
                cin = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1_name = layer1_name
        self.add_module(layer1_name, stages[0])
        self.layer2 = stages[1]
        self.layer3 = stages[2]
        _init_resnet(self)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # relu/maxpool commute: same as XMem's order
        f4 = getattr(self, self.layer1_name)(x)
        f8 = self.layer2(f4)
        f16 = self.layer3(f8)
        return f16, f8, f4


def _init_resnet(net: nn.Module) -> None:
    """Torchvision-era init: conv ~ N(0, sqrt(2/(k²·out))), BN weight 1 / bias 0 (spec §2.8)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.data.normal_(0, math.sqrt(2.0 / n))
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(1)
            m.bias.data.zero_()


def resnet50_trunk(in_channels: int = 3) -> ResNetTrunk:
    """ResNet-50 truncated after layer3 with layer1 named `res2`; channels (1024, 512, 256)."""
    return ResNetTrunk(Bottleneck, (3, 4, 6), in_channels, layer1_name="res2")


def resnet18_trunk(in_channels: int = 3) -> ResNetTrunk:
    """ResNet-18 truncated after layer3; channels (256, 128, 64)."""
    return ResNetTrunk(BasicBlock, (2, 2, 2), in_channels)


def assign_pretrained(target: dict[str, Tensor], name: str, value: Tensor, is_stem: bool, extra_init: str) -> None:
    """Put an ImageNet tensor into `target[name]`; the stem conv gets extra (mask) input channels first."""
    if is_stem:
        value = extend_input_channels(value, target[name].shape[1], extra_init)
    if value.shape != target[name].shape:
        raise ValueError(f"shape mismatch for {name}: {tuple(value.shape)} vs {tuple(target[name].shape)}")
    target[name] = value.to(target[name].dtype)


def extend_input_channels(weight: Tensor, in_channels: int, init: str = "zero") -> Tensor:
    """Append input channels to a conv weight (O×I×k×k -> O×in_channels×k×k); "zero" or "orthogonal"."""
    extra = in_channels - weight.shape[1]
    if extra <= 0:
        return weight
    pad = torch.zeros(weight.shape[0], extra, *weight.shape[2:], dtype=weight.dtype)
    if init == "orthogonal":
        nn.init.orthogonal_(pad)
    elif init != "zero":
        raise ValueError(f"unknown init {init!r}; use 'zero' or 'orthogonal'")
    return torch.cat([weight, pad], 1)


def load_torchvision_resnet(host: nn.Module, source: str | Path | dict[str, Tensor], layer1_name: str = "layer1",
                            prefix: str = "", extra_init: str = "zero") -> list[str]:
    """Copy ImageNet weights from a torchvision-format ResNet state dict (file path or dict) into `host`.

    `host` holds the trunk layers under `prefix` (e.g. "" for a bare trunk); torchvision's `layer1` is renamed to
    `layer1_name`; layer4/fc are ignored; extra conv1 input channels get `extra_init`. Returns the loaded names.
    """
    if isinstance(source, (str, Path)):
        from xmem_core.model.checkpoint import read_file  # weights_only, one-line errors (imported late: cycle)

        source = read_file(source, what="ImageNet weights file")
    src = source
    target = host.state_dict()
    loaded = []
    for key, value in src.items():
        if key.startswith(("layer4.", "fc.")):
            continue
        name = prefix + (layer1_name + key[len("layer1"):] if key.startswith("layer1.") else key)
        if name not in target:
            continue
        assign_pretrained(target, name, value, is_stem=key == "conv1.weight", extra_init=extra_init)
        loaded.append(name)
    host.load_state_dict(target)
    return loaded
