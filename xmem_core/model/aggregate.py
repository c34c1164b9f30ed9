"""Soft aggregation (STM / spec §2.6): per-object sigmoids -> softmax over {bg, obj1..objN}."""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-7


def aggregate(prob: Tensor, dim: int = 1) -> tuple[Tensor, Tensor]:
    """prob: B×N×H×W in [0, 1] -> (logits B×(N+1)×H×W, prob B×(N+1)×H×W), background first.

    bg = prod(1 - p); clamp to [1e-7, 1 - 1e-7]; logits = log(p / (1 - p)); prob = softmax(logits).
    """
    with_bg = torch.cat([torch.prod(1 - prob, dim=dim, keepdim=True), prob], dim).clamp(EPS, 1 - EPS)
    logits = torch.log(with_bg / (1 - with_bg))
    return logits, torch.softmax(logits, dim=dim)
