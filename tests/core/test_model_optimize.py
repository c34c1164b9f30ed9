"""Inference preparation: folded BatchNorm and fused conv+ReLU6 give the values of the plain network."""

from __future__ import annotations

import pytest
import torch

import xmem_core.model.optimize as optimize
from tests.core.tiny import tiny_model
from xmem_core.model.optimize import ConvReLU6, FoldedBatchNorm, prepare_for_inference


def _features(net, image: torch.Tensor, bf16: bool) -> list[torch.Tensor]:
    masks = torch.rand(1, 2, *image.shape[-2:], generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        f = net.encode_key(image)
        value, hidden = net.encode_value(image, f.f16, None, masks)
    return [t.float() for t in (f.f16, f.f8, f.f4, f.key, value, hidden)]


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))


def test_every_trunk_relu6_is_fused_after_folding() -> None:
    fast = prepare_for_inference(tiny_model(), "fp32")
    fused = [m for m in fast.modules() if isinstance(m, ConvReLU6)]
    # lite0 stem + 15 kept blocks (the first has no expand conv) per trunk, two trunks
    assert len(fused) > 40
    assert all(isinstance(m.act, torch.nn.Identity) for m in fast.modules() if hasattr(m, "_depthwise_conv"))
    assert sum(isinstance(m, FoldedBatchNorm) for m in fast.modules()) > len(fused)


def test_prepared_fp32_network_matches_the_plain_one(image: torch.Tensor) -> None:
    net = tiny_model()
    for got, want in zip(_features(prepare_for_inference(net, "fp32"), image, False), _features(net, image, False),
                         strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_fused_bf16_kernel_equals_conv_then_clamp(image: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = prepare_for_inference(tiny_model(), "bf16")
    cl = image.contiguous(memory_format=torch.channels_last)
    fused = _features(fast, cl, True)
    with torch.no_grad():
        assert optimize._fused_available(cl.bfloat16(), fast.key_encoder._conv_stem.weight)
    monkeypatch.setattr(optimize, "_fused_available", lambda *_: False)
    for got, want in zip(fused, _features(fast, cl, True), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("groups", [1, 8])
def test_conv_relu6_module_clamps_at_zero_and_six(groups: int) -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 8, 3, padding=1, groups=groups).to(torch.bfloat16).to(memory_format=torch.channels_last)
    x = (10 * torch.randn(2, 8, 9, 11)).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        want = torch.nn.functional.conv2d(x, conv.weight, conv.bias, padding=1, groups=groups).clamp(0, 6)
        conv.__class__ = ConvReLU6
        assert optimize._fused_available(x, conv.weight)
        got = conv(x)
    assert (want == 6).any() and (want == 0).any()
    torch.testing.assert_close(got, want, rtol=0, atol=0)
