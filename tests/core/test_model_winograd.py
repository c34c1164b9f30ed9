"""Winograd F(2×2, 3×3): the same convolution as the direct one, used where and only where it is meant to be."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.core.tiny import tiny_model
from xmem_core.model import winograd
from xmem_core.model.modules import GConv2D
from xmem_core.model.optimize import WinogradConv2d, WinogradGConv2D, prepare_for_inference, use_winograd


def _rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.float() - want.float()).abs().mean() / want.float().abs().mean())


@pytest.mark.parametrize("shape", [(1, 8, 6, 10), (3, 5, 7, 9), (2, 4, 1, 1), (1, 6, 2, 5)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("channels_last", [True, False])
def test_fp32_winograd_equals_direct_convolution(shape: tuple[int, ...], bias: bool, channels_last: bool) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=g)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(7, shape[1], 3, 3, generator=g)
    b = torch.randn(7, generator=g) if bias else None
    got = winograd.conv3x3(x, winograd.transform_weight(w), b)
    assert got.shape == (shape[0], 7, *shape[2:])
    torch.testing.assert_close(got, F.conv2d(x, w, b, padding=1), rtol=1e-5, atol=1e-5)


def test_bands_cover_the_map_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a band budget of one tile row the result is the same as in one band."""
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(2, 6, 11, 13, generator=g), torch.randn(5, 6, 3, 3, generator=g)
    u = winograd.transform_weight(w)
    whole = winograd.conv3x3(x, u)
    monkeypatch.setattr(winograd, "BAND_BYTES", 1)
    torch.testing.assert_close(winograd.conv3x3(x, u), whole, rtol=1e-6, atol=1e-6)


def test_bf16_winograd_stays_within_a_few_bf16_roundings() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 64, 20, 24, generator=g).relu()
    w = torch.randn(32, 64, 3, 3, generator=g) / 24
    want = F.conv2d(x, w, padding=1)
    direct = _rel_err(F.conv2d(x.bfloat16(), w.bfloat16(), padding=1), want)
    got = winograd.conv3x3(x.bfloat16(), winograd.transform_weight(w.bfloat16()))
    assert got.dtype == torch.bfloat16
    assert _rel_err(got, want) < 4 * direct + 1e-3  # measured: about 2.5× the direct bf16 error


def _everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Winograd for every bf16 3×3 convolution, however small (tiny test networks)."""
    monkeypatch.setattr(winograd, "MIN_CHANNEL_PRODUCT", 0)
    monkeypatch.setattr(winograd, "MIN_WORK", 0)


def test_shared_input_split_uses_slices_of_the_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    """GConv2D.forward_shared (x part once, per-object part apart) goes through Winograd for both halves."""
    _everywhere(monkeypatch)
    torch.manual_seed(0)
    conv = GConv2D(12, 8, 3, padding=1).to(torch.bfloat16)
    x, g = torch.randn(1, 4, 9, 10).bfloat16(), torch.randn(1, 3, 8, 9, 10).bfloat16()
    with torch.inference_mode():  # as the engine runs: the cached slices are inference tensors
        want = conv(torch.cat([x.unsqueeze(1).expand(-1, 3, -1, -1, -1), g], 2))
        conv.__class__ = WinogradGConv2D
        got = conv.forward_shared(x, g)
    assert len(conv.__dict__["_winograd_cache"]) == 2  # the x and g slices of the filters
    assert _rel_err(got, want) < 0.02


def test_only_plain_3x3_stride_1_convolutions_are_swapped() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.Conv2d(4, 4, 3, padding=1, stride=2),
                              torch.nn.Conv2d(4, 4, 1), torch.nn.Conv2d(4, 4, 3, padding=1, groups=4),
                              GConv2D(4, 4, 3, padding=1), torch.nn.Conv2d(4, 4, 3, padding=2, dilation=2))
    keys = list(net.state_dict())
    assert use_winograd(net) == 2
    assert [type(m) for m in net] == [WinogradConv2d, torch.nn.Conv2d, torch.nn.Conv2d, torch.nn.Conv2d,
                                      WinogradGConv2D, torch.nn.Conv2d]
    assert list(net.state_dict()) == keys


def test_used_only_for_wide_bf16_inference_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = torch.zeros(256, 256, 3, 3, dtype=torch.bfloat16)
    x = torch.zeros(1, 256, 64, 64, dtype=torch.bfloat16)
    with torch.no_grad():
        assert winograd.worth_it(x, wide)
        assert not winograd.worth_it(x, wide[:128, :256])  # 128×256 < MIN_CHANNEL_PRODUCT
        assert not winograd.worth_it(x[..., :30, :54], wide)  # too little work for one map of 30×54...
        assert winograd.worth_it(x[..., :30, :54].expand(3, -1, -1, -1), wide)  # ...but enough for three
        assert not winograd.worth_it(x[0], wide)  # unbatched C×H×W input: left to the direct convolution
        assert not winograd.worth_it(x.float(), wide.float())  # fp32: the direct conv is as fast
        monkeypatch.setattr(winograd, "ENABLED", False)
        assert not winograd.worth_it(x, wide)
    monkeypatch.setattr(winograd, "ENABLED", True)
    assert not winograd.worth_it(x, wide)  # autograd on: training never takes this path


def test_cached_filters_follow_in_place_weight_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    _everywhere(monkeypatch)
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6, 5, 3, padding=1).to(torch.bfloat16)
    conv.__class__ = WinogradConv2d
    x = torch.randn(1, 6, 8, 8).bfloat16()
    with torch.no_grad():
        conv(x)
        conv.weight.mul_(2)
        got = conv(x)
        want = F.conv2d(x, conv.weight, conv.bias, padding=1)
    assert _rel_err(got, want) < 0.02


@pytest.mark.parametrize("precision", ["mixed", "bf16"])
def test_prepared_network_with_winograd_matches_it_without(precision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bf16 3×3 conv of a tiny network by Winograd against none (two objects: shared-input split too)."""
    _everywhere(monkeypatch)
    fast = prepare_for_inference(tiny_model(), precision)
    image = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        f = fast.encode_key(image)
        readout = torch.randn(1, 2, 32, 4, 6, generator=torch.Generator().manual_seed(1))
        hidden = torch.zeros(1, 2, 8, 4, 6)
        h_wino, with_wino, _ = fast.segment(f, readout, hidden)
        used = [m for m in fast.modules() if m.__dict__.get("_winograd_cache")]
        monkeypatch.setattr(winograd, "ENABLED", False)
        h_direct, without, _ = fast.segment(f, readout, hidden)
    assert len(used) == {"mixed": 14, "bf16": 17}[precision]  # the decoder's 3×3 convs (bf16: + key projection)
    assert _rel_err(h_wino, h_direct) < 0.05
    assert _rel_err(with_wino, without) < 0.05
