"""Backbones: EfficientNet-Lite ImageNet weights cover the kept layers; strides and channels of all trunks."""

from __future__ import annotations

import pytest
import torch

from xmem_core.model.backbones import backbone_channels, build_trunk
from xmem_core.model.backbones.efficientnet_lite import (
    LITE_VARIANTS,
    block_table,
    lite_checkpoint_path,
    load_lite_imagenet,
)
from xmem_core.model.backbones.resnet import load_torchvision_resnet, resnet18_trunk

torch.set_num_threads(1)


def _blocks_from_checkpoint(sd: dict) -> list[tuple[int, int, int, int]]:
    """(cin, cout, kernel, expand) per block, read off the shipped checkpoint."""
    rows, i = [], 0
    while f"_blocks.{i}._project_conv.weight" in sd:
        proj, dw = sd[f"_blocks.{i}._project_conv.weight"], sd[f"_blocks.{i}._depthwise_conv.weight"]
        exp = sd.get(f"_blocks.{i}._expand_conv.weight")
        cin = exp.shape[1] if exp is not None else proj.shape[1]
        rows.append((cin, proj.shape[0], dw.shape[-1], dw.shape[0] // cin))
        i += 1
    return rows


@pytest.mark.parametrize("variant", LITE_VARIANTS)
def test_lite_block_table_matches_checkpoint(variant: str) -> None:
    sd = torch.load(lite_checkpoint_path(variant), map_location="cpu", weights_only=True)
    ours = [(cin, cout, k, e) for cin, cout, k, _, e in block_table(variant)]
    assert ours == _blocks_from_checkpoint(sd)[: len(ours)]


@pytest.mark.parametrize("variant", LITE_VARIANTS)
@pytest.mark.parametrize("in_channels", [3, 5])
def test_lite_imagenet_covers_kept_params(variant: str, in_channels: int) -> None:
    trunk = build_trunk(variant, in_channels).eval()
    loaded = load_lite_imagenet(trunk, variant)
    assert set(loaded) == set(trunk.state_dict())
    stem = trunk._conv_stem.weight
    assert torch.all(stem[:, 3:] == 0)
    sd = torch.load(lite_checkpoint_path(variant), map_location="cpu", weights_only=True)
    assert torch.equal(stem[:, :3], sd["_conv_stem.weight"])


@pytest.mark.parametrize("name", [*LITE_VARIANTS, "resnet18", "resnet50"])
def test_trunk_strides_and_channels(name: str) -> None:
    trunk = build_trunk(name, 3).eval()
    with torch.no_grad():
        f16, f8, f4 = trunk(torch.randn(1, 3, 64, 96))
    c16, c8, c4 = backbone_channels(name)
    assert f16.shape == (1, c16, 4, 6) and f8.shape == (1, c8, 8, 12) and f4.shape == (1, c4, 16, 24)


def test_lite_input_conversion() -> None:
    """ImageNet-normalised input is mapped to (x_255 - 127) / 128 on RGB; mask channels pass through."""
    trunk = build_trunk("efficientnet-lite0", 5)
    pix = torch.rand(1, 3, 4, 4)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    mask = torch.rand(1, 2, 4, 4)
    out = trunk._input_norm(torch.cat([(pix - mean) / std, mask], 1))
    torch.testing.assert_close(out[:, :3], (pix * 255 - 127) / 128)
    assert torch.equal(out[:, 3:], mask)


def test_torchvision_resnet_loader_extends_channels() -> None:
    src = resnet18_trunk(3)
    tv = {k: v for k, v in src.state_dict().items()}
    tv["fc.weight"] = torch.zeros(1000, 512)
    target = resnet18_trunk(5)
    loaded = load_torchvision_resnet(target, tv, extra_init="zero")
    assert "conv1.weight" in loaded and "fc.weight" not in loaded
    assert torch.equal(target.conv1.weight[:, :3], src.conv1.weight)
    assert torch.all(target.conv1.weight[:, 3:] == 0)
    load_torchvision_resnet(target, tv, extra_init="orthogonal")
    assert target.conv1.weight[:, 3:].abs().sum() > 0
