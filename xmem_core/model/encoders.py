"""Key encoder, key projection and value encoder (spec §2.2–2.4).

The backbone layers are registered directly on the encoder modules (not under a `backbone.` prefix) so that the
state-dict names match the released checkpoints: `key_encoder.conv1`, `key_encoder.res2.*`, `value_encoder.layer1.*`.
The trunk object itself is kept as an unregistered attribute that shares those very layer objects.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from xmem_core.config import ModelConfig
from xmem_core.model.backbones import backbone_channels, build_trunk
from xmem_core.model.modules import FeatureFusionBlock, HiddenReinforcer


def _adopt_trunk(host: nn.Module, trunk: nn.Module) -> None:
    """Register the trunk's children on `host` and keep the trunk (unregistered) for its forward."""
    for name, child in trunk.named_children():
        host.add_module(name, child)
    object.__setattr__(host, "_trunk", trunk)


class KeyEncoder(nn.Module):
    """Query/key backbone. forward(image: B×3×H×W normalised) -> (f16 B×C16×h×w, f8 B×C8×2h×2w, f4 B×C4×4h×4w)."""

    def __init__(self, backbone: str = "resnet50") -> None:
        super().__init__()
        _adopt_trunk(self, build_trunk(backbone, 3))
        self.backbone = backbone
        self.channels = backbone_channels(backbone)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self._trunk(image)


class KeyProjection(nn.Module):
    """Three 3×3 convs on f16: key (orthogonal, zero bias), shrinkage d (s = d²+1), selection e (sigmoid).

    forward(f16: B×C16×h×w, need_s, need_e) -> (key B×Ck×h×w, shrinkage B×1×h×w | None, selection B×Ck×h×w | None).
    """

    def __init__(self, in_dim: int, key_dim: int) -> None:
        super().__init__()
        self.key_proj = nn.Conv2d(in_dim, key_dim, 3, padding=1)
        self.d_proj = nn.Conv2d(in_dim, 1, 3, padding=1)
        self.e_proj = nn.Conv2d(in_dim, key_dim, 3, padding=1)
        nn.init.orthogonal_(self.key_proj.weight.data)
        nn.init.zeros_(self.key_proj.bias.data)

    def forward(self, x: Tensor, need_s: bool, need_e: bool) -> tuple[Tensor, Tensor | None, Tensor | None]:
        shrinkage = self.d_proj(x) ** 2 + 1 if need_s else None
        selection = torch.sigmoid(self.e_proj(x)) if need_e else None
        return self.key_proj(x), shrinkage, selection


class ValueEncoder(nn.Module):
    """Value backbone on [RGB, mask, others] per object, fused with the key f16, plus the deep-update cell.

    forward(image B×3×H×W, f16 B×C16k×h×w, hidden B×N×Ch×h×w | None, masks B×N×H×W, others B×N×H×W | None,
    is_deep_update) -> (value B×N×Cv×h×w, hidden B×N×Ch×h×w | None). `others` is None in single-object mode.
    """

    def __init__(self, config: ModelConfig, key_f16_dim: int) -> None:
        super().__init__()
        in_channels = 4 if config.single_object else 5
        _adopt_trunk(self, build_trunk(config.value_backbone, in_channels))
        g_in = backbone_channels(config.value_backbone)[0]
        self.fuser = FeatureFusionBlock(key_f16_dim, g_in, config.value_dim, config.value_dim)
        self.hidden_reinforce = HiddenReinforcer(config.value_dim, config.hidden_dim) if config.hidden_dim > 0 else None
        self.single_object = config.single_object
        self.hidden_dim = config.hidden_dim

    def forward(self, image: Tensor, f16: Tensor, hidden: Tensor | None, masks: Tensor, others: Tensor | None,
                is_deep_update: bool = True) -> tuple[Tensor, Tensor | None]:
        b, n = masks.shape[:2]
        g = masks.unsqueeze(2) if others is None else torch.stack([masks, others], 2)  # B×N×(1|2)×H×W
        x = torch.cat([image.unsqueeze(1).expand(-1, n, -1, -1, -1), g], 2).flatten(0, 1)
        g16 = self._trunk(x)[0]
        value = self.fuser(f16, g16.view(b, n, *g16.shape[1:]))
        if is_deep_update and self.hidden_reinforce is not None:
            if hidden is None:
                hidden = value.new_zeros(b, n, self.hidden_dim, *value.shape[-2:])
            hidden = self.hidden_reinforce(value, hidden)
        return value, hidden
