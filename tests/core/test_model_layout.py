"""Group-tensor layout helpers and the shared-input fusion path give the same values as the plain code."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from xmem_core.model.modules import (
    FeatureFusionBlock,
    GConv2D,
    GroupResBlock,
    HiddenUpdater,
    add_into,
    as_batch,
    downsample_groups,
    group_cat,
    gru_update,
    upsample_groups,
)

CL = torch.channels_last


def _cl_group(b: int, n: int, c: int, h: int, w: int) -> torch.Tensor:
    return torch.randn(b * n, c, h, w).to(memory_format=CL).view(b, n, c, h, w)


def test_as_batch_gives_canonical_channels_last_strides_for_single_object_views() -> None:
    x = torch.randn(1, 8, 5, 6).to(memory_format=CL)
    g = x.view(1, 1, 8, 5, 6) + x.view(1, 1, 8, 5, 6)  # element-wise op: arbitrary strides on the size-1 axes
    flat = as_batch(g)
    assert flat.stride() == (8 * 5 * 6, 1, 6 * 8, 8)
    assert torch.equal(flat, g.flatten(0, 1))
    plain = torch.randn(2, 3, 4, 5, 6)
    assert as_batch(plain).is_contiguous() and torch.equal(as_batch(plain), plain.flatten(0, 1))


def test_group_cat_matches_torch_cat_and_keeps_channels_last() -> None:
    shared = torch.randn(2, 4, 5, 6).to(memory_format=CL)
    a, b = _cl_group(2, 3, 5, 5, 6), _cl_group(2, 3, 2, 5, 6)
    out = group_cat([a, b], shared=shared)
    ref = torch.cat([shared.unsqueeze(1).expand(-1, 3, -1, -1, -1), a, b], 2)
    assert torch.equal(out, ref)
    assert as_batch(out).is_contiguous(memory_format=CL)
    assert torch.equal(group_cat([a.contiguous(), b.contiguous()]), torch.cat([a, b], 2))


def test_group_cat_writes_the_autocast_dtype() -> None:
    a = _cl_group(1, 2, 3, 4, 4).bfloat16()
    b = _cl_group(1, 2, 3, 4, 4)  # fp32 (e.g. the sensory memory)
    with torch.autocast("cpu", torch.bfloat16):
        out = group_cat([a, b])
    assert out.dtype == torch.bfloat16
    assert torch.equal(out.float(), torch.cat([a.float(), b.bfloat16().float()], 2))
    assert group_cat([a, b]).dtype == torch.float32  # no autocast: promotion, as torch.cat


def test_upsample_groups_stays_bf16_under_autocast() -> None:
    g = _cl_group(1, 2, 3, 4, 4).bfloat16()
    with torch.autocast("cpu", torch.bfloat16):
        out = upsample_groups(g, 2)
    assert out.dtype == torch.bfloat16 and out.shape == (1, 2, 3, 8, 8)
    ref = F.interpolate(g.float().flatten(0, 1), scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(out.float().flatten(0, 1), ref, atol=0.05)


def test_gconv_forward_shared_equals_conv_on_the_concatenation() -> None:
    torch.manual_seed(0)
    conv = GConv2D(7, 5, 3, padding=1)
    x, g = torch.randn(2, 4, 6, 6), torch.randn(2, 3, 3, 6, 6)
    with torch.no_grad():
        ref = conv(torch.cat([x.unsqueeze(1).expand(-1, 3, -1, -1, -1), g], 2))
        assert torch.allclose(conv.forward_shared(x, g), ref, atol=1e-5)
        conv.weight.mul_(2)  # the cached split must follow weight changes
        assert torch.allclose(conv.forward_shared(x, g), 2 * ref - conv.bias.view(1, 1, -1, 1, 1), atol=1e-5)


def test_fusion_block_shared_path_matches_the_plain_path() -> None:
    torch.manual_seed(0)
    block = FeatureFusionBlock(6, 5, 32, 32).eval()
    x, g = torch.randn(1, 6, 7, 9), torch.randn(1, 3, 5, 7, 9)
    ref = block(x, g)  # grad enabled: plain path
    with torch.no_grad():
        fast = block(x, g)  # several objects, inference: shared path
    assert torch.allclose(fast, ref, atol=1e-5)
    res = GroupResBlock(4, 4)  # in == out: no shortcut conv, falls back to the concatenation
    xs, gs = torch.randn(1, 2, 3, 3), torch.randn(1, 2, 2, 3, 3)
    with torch.no_grad():
        ref = res(torch.cat([xs.unsqueeze(1).expand(-1, 2, -1, -1, -1), gs], 2))
        assert torch.allclose(res.forward_shared(xs, gs), ref)


def test_add_into_writes_in_place_only_when_the_result_is_the_same() -> None:
    out, other = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    expected = out + other
    res = add_into(out, other)
    assert res.data_ptr() == out.data_ptr() and torch.equal(res, expected)
    low, high = torch.randn(2, 3, 4).bfloat16(), torch.randn(2, 3, 4)  # promotes to fp32: a new tensor
    res = add_into(low, high)
    assert res.dtype == torch.float32 and res.data_ptr() != low.data_ptr() and torch.equal(res, low + high)
    small, big = torch.randn(1, 3, 4), torch.randn(2, 3, 4)  # out would need broadcasting: a new tensor
    res = add_into(small, big)
    assert res.shape == (2, 3, 4) and torch.equal(res, small + big)


def _res_block_reference(block: GroupResBlock, g: torch.Tensor) -> torch.Tensor:
    out = block.conv2(F.relu(block.conv1(F.relu(g))))
    return out + (g if block.downsample is None else block.downsample(g))


def test_res_block_in_place_sums_keep_values_and_gradients() -> None:
    torch.manual_seed(0)
    for cin, cout in [(4, 4), (6, 4)]:
        block = GroupResBlock(cin, cout)
        g = torch.randn(1, 2, cin, 5, 6, requires_grad=True)
        out = block(g)
        ref = _res_block_reference(block, g)
        torch.testing.assert_close(out, ref, rtol=0, atol=0)
        grads = torch.autograd.grad(out.square().sum(), [g, *block.parameters()])
        ref_grads = torch.autograd.grad(ref.square().sum(), [g, *block.parameters()])
        for a, b in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(a, b)


def test_hidden_updater_resizes_g4_and_logit_apart_like_the_concatenation() -> None:
    torch.manual_seed(0)
    upd = HiddenUpdater((6, 5, 4 + 1), 5, 3).eval()
    g16, g8 = torch.randn(1, 2, 6, 2, 3), torch.randn(1, 2, 5, 4, 6)
    g4, logit, h = torch.randn(1, 2, 4, 8, 12), torch.randn(1, 2, 1, 8, 12), torch.randn(1, 2, 3, 2, 3)
    out = upd(g16, g8, g4, logit, h)
    joint = torch.cat([g4, logit], 2)
    x = upd.g16_conv(g16) + upd.g8_conv(downsample_groups(g8, 0.5)) + upd.g4_conv(downsample_groups(joint, 0.25))
    ref = gru_update(upd.transform(torch.cat([x, h], 2)), h)
    torch.testing.assert_close(out, ref)
