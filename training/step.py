"""One optimisation step, in the phases `benchmarks/bench_train.py` times separately: to-device, forward (+loss),
backward, optimiser. Nothing here waits for the device: losses and the gradient norm stay device tensors, and the
trainer reads them once per logging window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from training.config import StageConfig
from training.data.sampling import sample_seed
from training.forward import ClipOutput, normalize_rgb, run_clip
from training.losses import LossConfig, xmem_loss
from training.runtime import FrameStages
from xmem_core.model.network import XMem


class ClipModel(nn.Module):
    """`forward` = the unrolled clip pass, so DistributedDataParallel can wrap it.

    `stages` are the network's per-frame stages (eager or compiled, `FrameStages`); the parameters are `net`'s.
    """

    def __init__(self, net: XMem, stages: FrameStages | None = None, channels_last: bool = False) -> None:
        super().__init__()
        self.net = net
        self.stages = stages or FrameStages(net)
        self.channels_last = channels_last

    def forward(self, rgb: Tensor, first: Tensor, selector: Tensor, rng: np.random.Generator, num_ref: int,
                deep_p: float) -> ClipOutput:
        return run_clip(self.stages, rgb, first, selector, rng, num_ref, deep_p,  # type: ignore[arg-type]
                        channels_last=self.channels_last)


class TrainStep:
    """A stage's training step: `step(batch, it)` or the phases `to_device`, `forward`, `backward`, `optimize`.

    amp: the autocast dtype or None; a GradScaler is used only for fp16 (`scaler.is_enabled()`).
    """

    def __init__(self, model: nn.Module, opt: torch.optim.Optimizer, sched: Any, scaler: torch.amp.GradScaler,
                 stage: StageConfig, loss_cfg: LossConfig, device: torch.device, amp: torch.dtype | None,
                 seed: int, stage_index: int, rank: int = 0) -> None:
        self.model, self.opt, self.sched, self.scaler = model, opt, sched, scaler
        self.stage, self.loss_cfg, self.device, self.amp = stage, loss_cfg, device, amp
        self.seed, self.stage_index, self.rank = seed, stage_index, rank

    def to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Asynchronous copies (pinned batches); rgb normalised on the device (B×T×3×H×W float32)."""
        dev = self.device
        return {
            "rgb": normalize_rgb(batch["rgb"].to(dev, non_blocking=True)),
            "first": batch["first_frame_gt"].to(dev, non_blocking=True)[:, 0],  # B×N×H×W
            "selector": batch["selector"].to(dev, non_blocking=True),  # B×N
            "cls_gt": batch["cls_gt"].to(dev, non_blocking=True),  # B×T×1×H×W uint8
            "num_objects": batch["num_objects"],  # stays on the host (the loss groups samples by it)
        }

    def forward(self, x: dict[str, Any], it: int) -> dict[str, Tensor]:
        """The clip pass under autocast and the loss in fp32: {"total", "ce", "dice", "p"}."""
        st = self.stage
        rng = np.random.default_rng(sample_seed(self.seed, self.stage_index, it, self.rank, 0xD0))
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            out = self.model(x["rgb"], x["first"], x["selector"], rng, st.num_ref_frames, st.deep_update_prob)
        return xmem_loss(out.logits, out.probs, x["cls_gt"], x["num_objects"], it, self.loss_cfg)

    def backward(self, losses: dict[str, Tensor]) -> None:
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(losses["total"]).backward()

    def optimize(self) -> Tensor:
        """Unscale (fp16), clip, step, advance the LR schedule; returns the pre-clip gradient norm (device)."""
        self.scaler.unscale_(self.opt)
        max_norm = self.stage.grad_clip if self.stage.grad_clip > 0 else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()
        return grad_norm

    def step(self, batch: dict[str, Any], it: int) -> dict[str, Tensor]:
        """One iteration; returns device scalars (loss, ce, dice, grad_norm) and the host scalar p."""
        losses = self.forward(self.to_device(batch), it)
        self.backward(losses)
        grad_norm = self.optimize()
        return {"loss": losses["total"].detach(), "ce": losses["ce"].detach(), "dice": losses["dice"].detach(),
                "p": losses["p"], "grad_norm": grad_norm.detach()}
