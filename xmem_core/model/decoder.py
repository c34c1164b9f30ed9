"""Decoder (spec §2.5), generalised to ModelConfig.decoder_dims = (d16, d8, d4); paper: (512, 256, 256)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from xmem_core.model.modules import (
    FeatureFusionBlock,
    GroupResBlock,
    HiddenUpdater,
    as_batch,
    distribute,
    group_cat,
    upsample_groups,
)


class UpsampleBlock(nn.Module):
    """skip_conv (3×3, once on the shared skip feature) + ×2 bilinear group upsampling, added, then GroupResBlock.

    forward(skip: B×Cs×2h×2w, g: B×N×Cup×h×w) -> B×N×Cout×2h×2w.
    """

    def __init__(self, skip_dim: int, up_dim: int, out_dim: int) -> None:
        super().__init__()
        self.skip_conv = nn.Conv2d(skip_dim, up_dim, 3, padding=1)
        self.out_conv = GroupResBlock(up_dim, out_dim)

    def forward(self, skip: Tensor, g: Tensor) -> Tensor:
        return self.out_conv(distribute(self.skip_conv(skip), upsample_groups(g, 2), "add"))


class Decoder(nn.Module):
    """Fuse [f16 | readout | hidden], upsample through f8/f4, predict per-object logits, update the sensory memory.

    Channels: fuser -> d16; up_16_8 (skip f8 -> d16, out d16 -> d8); up_8_4 (skip f4 -> d8, out d8 -> d4);
    pred d4 -> 1; hidden_update projections to d8 (= 256 in the paper config) then the GRU-like cell.
    """

    def __init__(self, feat_dims: tuple[int, int, int], value_dim: int, hidden_dim: int,
                 dims: tuple[int, int, int] = (512, 256, 256)) -> None:
        super().__init__()
        c16, c8, c4 = feat_dims
        d16, d8, d4 = dims
        self.hidden_dim = hidden_dim
        self.fuser = FeatureFusionBlock(c16, value_dim + hidden_dim, d16, d16)
        self.hidden_update = HiddenUpdater((d16, d8, d4 + 1), d8, hidden_dim) if hidden_dim > 0 else None
        self.up_16_8 = UpsampleBlock(c8, d16, d8)
        self.up_8_4 = UpsampleBlock(c4, d8, d4)
        self.pred = nn.Conv2d(d4, 1, 3, padding=1)

    def forward(self, f16: Tensor, f8: Tensor, f4: Tensor, hidden: Tensor | None, readout: Tensor,
                h_out: bool = True) -> tuple[Tensor | None, Tensor]:
        """f16/f8/f4: B×C×(h,2h,4h)×…, hidden: B×N×Ch×h×w | None, readout: B×N×Cv×h×w.

        Returns (new hidden B×N×Ch×h×w or None when not requested/disabled, logits B×N×16h×16w).
        """
        b, n = readout.shape[:2]
        if self.hidden_update is not None:
            if hidden is None:
                hidden = readout.new_zeros(b, n, self.hidden_dim, *readout.shape[-2:])
            g16 = self.fuser(f16, group_cat([readout, hidden]))
        else:
            g16 = self.fuser(f16, readout)
        g8 = self.up_16_8(f8, g16)
        g4 = self.up_8_4(f4, g8)
        logits = self.pred(F.relu(as_batch(g4)))  # (B·N)×1×4h×4w
        new_hidden = None
        if h_out and self.hidden_update is not None:
            new_hidden = self.hidden_update(g16, g8, g4, logits.view(b, n, 1, *logits.shape[-2:]), hidden)
        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        return new_hidden, logits.view(b, n, *logits.shape[-2:])
