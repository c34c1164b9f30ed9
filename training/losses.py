"""The paper's loss (spec §7.6): bootstrapped cross-entropy with warm-up plus dice, equal weight, per query frame."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


def bootstrap_fraction(it: int, start_warm: int, end_warm: int, top_p: float = 0.15) -> float:
    """Fraction of hardest pixels kept: 1 before start_warm, then linear down to top_p at end_warm."""
    if it < start_warm:
        return 1.0
    if it >= end_warm:
        return top_p
    return top_p + (1 - top_p) * (end_warm - it) / (end_warm - start_warm)


def bootstrapped_ce(logits: Tensor, target: Tensor, p: float) -> Tensor:
    """Mean of the top-p fraction of per-pixel CE. logits: B×C×H×W, target: B×H×W int64 -> scalar."""
    raw = F.cross_entropy(logits, target, reduction="none").flatten()
    if p >= 1.0:
        return raw.mean()
    k = max(1, int(raw.numel() * p))
    return torch.topk(raw, k, sorted=False).values.mean()


def dice_loss(prob: Tensor, cls_gt: Tensor) -> Tensor:
    """1 - (2Σpg + 1)/(Σp + Σg + 1) per sample and slot, averaged over all. prob: B×N×H×W, cls_gt: B×H×W."""
    n = prob.shape[1]
    gt = torch.stack([(cls_gt == i + 1) for i in range(n)], 1).to(prob.dtype)  # B×N×H×W
    p, g = prob.flatten(2), gt.flatten(2)
    loss = 1 - (2 * (p * g).sum(-1) + 1) / (p.sum(-1) + g.sum(-1) + 1)
    return loss.mean()


@dataclass(frozen=True)
class LossConfig:
    """Warm-up of the bootstrapped CE in iterations of the current stage (paper: 20K -> 70K, top 15%)."""

    start_warm: int = 20_000
    end_warm: int = 70_000
    top_p: float = 0.15


def xmem_loss(
    logits: list[Tensor], probs: list[Tensor], cls_gt: Tensor, num_objects: Tensor, it: int, cfg: LossConfig
) -> dict[str, Tensor]:
    """Sum over query frames of CE + dice.

    logits[t]: B×(N+1)×H×W aggregated log-odds (with bg) of query frame t+1; probs[t]: B×N×H×W (bg stripped);
    cls_gt: B×T×1×H×W labels; num_objects: B (host tensor). CE per sample uses channels [bg, its real objects]
    only. Returns {"total", "ce", "dice", "p"} (ce/dice summed over frames; computed in float32; "p" on the host).

    Samples with the same object count share one CE and one top-k over all their frames (a handful of kernels
    instead of one per sample and frame, and no host synchronisation).
    """
    p = bootstrap_fraction(it, cfg.start_warm, cfg.end_warm, cfg.top_p)
    b = cls_gt.shape[0]
    lg = torch.stack(logits, 1)  # B×(T-1)×(N+1)×H×W
    gt = cls_gt[:, 1:, 0].long()  # B×(T-1)×H×W
    counts = [int(v) for v in num_objects.tolist()]  # host tensor: no device sync
    ce = lg.new_zeros((), dtype=torch.float32)
    for n in sorted(set(counts)):
        rows = torch.tensor([i for i, c in enumerate(counts) if c == n])
        sel = rows.pin_memory().to(lg.device, non_blocking=True) if lg.device.type == "cuda" else rows
        x = lg.index_select(0, sel)[:, :, : n + 1].flatten(0, 1).float()  # S×(n+1)×H×W
        y = gt.index_select(0, sel).flatten(0, 1)  # S×H×W
        raw = F.cross_entropy(x, y, reduction="none").flatten(1)  # S×HW
        if p < 1.0:
            raw = torch.topk(raw, max(1, int(raw.shape[1] * p)), dim=1, sorted=False).values
        ce = ce + raw.mean(1).sum() / b
    dice = ce.new_zeros(())
    for t, pr in enumerate(probs, start=1):
        dice = dice + dice_loss(pr.float(), cls_gt[:, t, 0].long())
    return {"total": ce + dice, "ce": ce, "dice": dice, "p": torch.tensor(p)}
