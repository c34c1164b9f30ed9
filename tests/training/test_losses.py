"""Losses against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from training.losses import LossConfig, bootstrap_fraction, bootstrapped_ce, dice_loss, xmem_loss


def test_bootstrap_fraction() -> None:
    assert bootstrap_fraction(0, 20_000, 70_000) == 1.0
    assert bootstrap_fraction(19_999, 20_000, 70_000) == 1.0
    assert bootstrap_fraction(20_000, 20_000, 70_000) == pytest.approx(1.0)
    assert bootstrap_fraction(45_000, 20_000, 70_000) == pytest.approx(0.15 + 0.85 * 0.5)
    assert bootstrap_fraction(70_000, 20_000, 70_000) == 0.15
    assert bootstrap_fraction(10**6, 20_000, 70_000) == 0.15


def _ce_values() -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    # 1×2×1×4 logits, targets 0,1,0,1
    logits = torch.tensor([[[[0.0, 0.0, 2.0, -1.0]], [[0.0, 1.0, 0.0, 1.0]]]])
    target = torch.tensor([[[0, 1, 0, 1]]])
    per_pixel = [math.log(2), math.log(1 + math.e**-1), math.log(1 + math.e**-2), math.log(1 + math.e**-2)]
    return logits, target, per_pixel


def test_bootstrapped_ce_hand_values() -> None:
    logits, target, per = _ce_values()
    assert bootstrapped_ce(logits, target, 1.0).item() == pytest.approx(sum(per) / 4, rel=1e-6)
    top2 = sorted(per, reverse=True)[:2]  # p = 0.5 keeps the 2 hardest pixels
    assert bootstrapped_ce(logits, target, 0.5).item() == pytest.approx(sum(top2) / 2, rel=1e-6)


def test_dice_hand_values() -> None:
    prob = torch.tensor([[[[0.5, 1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]]])  # 1×2×2×2
    gt = torch.tensor([[[1, 1], [0, 0]]])  # object 1 top row, object 2 absent
    d1 = 1 - (2 * 1.5 + 1) / (1.5 + 2 + 1)
    d2 = 1 - (2 * 0 + 1) / (1.0 + 0 + 1)
    assert dice_loss(prob, gt).item() == pytest.approx((d1 + d2) / 2)


def test_xmem_loss_restricts_ce_to_real_objects() -> None:
    logits, target, per = _ce_values()
    padded = torch.cat([logits, torch.full((1, 1, 1, 4), 5.0)], 1)  # a padded slot with large log-odds
    probs = torch.zeros(1, 2, 1, 4)
    cls_gt = torch.stack([target, target], 1)[:, :, None]  # B×T×1×H×W (frame 0 unused)
    out = xmem_loss([padded], [probs], cls_gt, torch.tensor([1]), it=0, cfg=LossConfig())
    assert out["ce"].item() == pytest.approx(sum(per) / 4, rel=1e-6)  # the padded channel is ignored
    dice = dice_loss(probs, target)
    assert out["dice"].item() == pytest.approx(dice.item())
    assert out["total"].item() == pytest.approx(out["ce"].item() + out["dice"].item())
    assert out["p"].item() == 1.0


def test_xmem_loss_sums_frames_and_averages_batch() -> None:
    torch.manual_seed(0)
    b, t, n, h, w = 2, 3, 2, 4, 5
    logits = [torch.randn(b, n + 1, h, w) for _ in range(t - 1)]
    probs = [torch.rand(b, n, h, w) for _ in range(t - 1)]
    gt = torch.randint(0, n + 1, (b, t, 1, h, w))
    nobj = torch.tensor([2, 1])
    gt[1] = gt[1].clamp(max=1)  # sample 1 has a single object
    out = xmem_loss(logits, probs, gt, nobj, it=10, cfg=LossConfig(0, 100, 0.15))
    p = bootstrap_fraction(10, 0, 100)
    ce = sum(bootstrapped_ce(logits[f][i : i + 1, : nobj[i] + 1], gt[i : i + 1, f + 1, 0].long(), p) / b
             for f in range(t - 1) for i in range(b))
    dice = sum(dice_loss(probs[f], gt[:, f + 1, 0]) for f in range(t - 1))
    assert out["ce"].item() == pytest.approx(float(ce), rel=1e-5)
    assert out["dice"].item() == pytest.approx(float(dice), rel=1e-5)
