"""Truncated image backbones returning (f16, f8, f4): ResNet-50/18 and EfficientNet-Lite0/1/2."""

from __future__ import annotations

from torch import nn

from xmem_core.model.backbones.efficientnet_lite import LITE_VARIANTS, EfficientNetLiteTrunk, lite_channels
from xmem_core.model.backbones.resnet import ResNetTrunk, resnet18_trunk, resnet50_trunk


def backbone_channels(name: str) -> tuple[int, int, int]:
    """(C16, C8, C4) of a backbone name from `xmem_core.config.KEY_BACKBONES`/`VALUE_BACKBONES`."""
    if name == "resnet50":
        return 1024, 512, 256
    if name == "resnet18":
        return 256, 128, 64
    if name in LITE_VARIANTS:
        return lite_channels(name)
    raise ValueError(f"unknown backbone {name!r}")


def build_trunk(name: str, in_channels: int = 3) -> nn.Module:
    """Backbone instance; ResNet-50 names its layer1 `res2` (released XMem layout)."""
    if name == "resnet50":
        return resnet50_trunk(in_channels)
    if name == "resnet18":
        return resnet18_trunk(in_channels)
    if name in LITE_VARIANTS:
        return EfficientNetLiteTrunk(name, in_channels)
    raise ValueError(f"unknown backbone {name!r}")


__all__ = ["LITE_VARIANTS", "EfficientNetLiteTrunk", "ResNetTrunk", "backbone_channels", "build_trunk"]
