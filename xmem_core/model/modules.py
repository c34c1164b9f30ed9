"""Building blocks of XMem (spec §2.1): group convs, GroupResBlock, CBAM, FeatureFusionBlock, GRU-like cells.

A "group tensor" is B×N×C×H×W; 2-D convs fold B·N into the batch axis and share weights across objects.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class GConv2D(nn.Conv2d):
    """Conv2d on a group tensor: B×N×Cin×H×W -> B×N×Cout×H'×W'."""

    def forward(self, g: Tensor) -> Tensor:  # type: ignore[override]
        b, n = g.shape[:2]
        out = super().forward(g.flatten(0, 1))
        return out.view(b, n, *out.shape[1:])


def upsample_groups(g: Tensor, ratio: float = 2) -> Tensor:
    """Bilinear (align_corners=False) resize of a group tensor B×N×C×H×W by `ratio`."""
    b, n = g.shape[:2]
    out = F.interpolate(g.flatten(0, 1), scale_factor=ratio, mode="bilinear", align_corners=False)
    return out.view(b, n, *out.shape[1:])


def downsample_groups(g: Tensor, ratio: float = 0.5) -> Tensor:
    """Area (average-pool) resize of a group tensor B×N×C×H×W by `ratio` (1/2 or 1/4)."""
    b, n = g.shape[:2]
    out = F.interpolate(g.flatten(0, 1), scale_factor=ratio, mode="area")
    return out.view(b, n, *out.shape[1:])


def distribute(x: Tensor, g: Tensor, mode: str = "cat") -> Tensor:
    """Broadcast x (B×C×H×W) over the N slots of g (B×N×Cg×H×W): "cat" -> [x, g] on channels, "add" -> x + g."""
    xg = x.unsqueeze(1).expand(-1, g.shape[1], -1, -1, -1)
    if mode == "cat":
        return torch.cat([xg, g], 2)
    if mode == "add":
        return xg + g
    raise ValueError(f"unknown distribution mode {mode!r}")


class GroupResBlock(nn.Module):
    """Pre-activation residual block without norm; 3×3 shortcut conv (`downsample`) when in != out.

    forward(g: B×N×Cin×H×W) -> B×N×Cout×H×W; no ReLU after the addition.
    """

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.downsample = None if in_dim == out_dim else GConv2D(in_dim, out_dim, 3, padding=1)
        self.conv1 = GConv2D(in_dim, out_dim, 3, padding=1)
        self.conv2 = GConv2D(out_dim, out_dim, 3, padding=1)

    def forward(self, g: Tensor) -> Tensor:
        out = self.conv1(F.relu(g))
        out = self.conv2(F.relu(out))
        shortcut = g if self.downsample is None else self.downsample(g)
        return out + shortcut


class ChannelGate(nn.Module):
    """Shared MLP on global avg- and max-pooled vectors, summed, sigmoid. x: B×C×H×W -> B×C×H×W."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        mid = channels // reduction
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels, mid), nn.ReLU(), nn.Linear(mid, channels))

    def forward(self, x: Tensor) -> Tensor:
        att = self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(att)[:, :, None, None]


class BasicConv(nn.Module):
    """Holder so that the state-dict name is `spatial.conv` (CBAM reference layout); plain conv with bias."""

    def __init__(self, cin: int, cout: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class SpatialGate(nn.Module):
    """[max over C, mean over C] -> 7×7 conv (2->1, bias) -> sigmoid scale. x: B×C×H×W -> B×C×H×W."""

    def __init__(self) -> None:
        super().__init__()
        self.spatial = BasicConv(2, 1, 7)

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Channel gate then spatial gate (no BN/ReLU in the spatial conv). x: B×C×H×W -> B×C×H×W."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.ChannelGate = ChannelGate(channels, reduction)
        self.SpatialGate = SpatialGate()

    def forward(self, x: Tensor) -> Tensor:
        return self.SpatialGate(self.ChannelGate(x))


class FeatureFusionBlock(nn.Module):
    """g = block1([x, g]); r = CBAM(g); out = block2(g + r).

    forward(x: B×x_in×H×W, g: B×N×g_in×H×W) -> B×N×g_out×H×W.
    """

    def __init__(self, x_in: int, g_in: int, g_mid: int, g_out: int) -> None:
        super().__init__()
        self.block1 = GroupResBlock(x_in + g_in, g_mid)
        self.attention = CBAM(g_mid)
        self.block2 = GroupResBlock(g_mid, g_out)

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        b, n = g.shape[:2]
        g = self.block1(distribute(x, g, "cat"))
        r = self.attention(g.flatten(0, 1)).view(b, n, *g.shape[2:])
        return self.block2(g + r)


def gru_update(values: Tensor, h: Tensor) -> Tensor:
    """XMem's GRU-like update (not a textbook GRU).

    values: B×N×3Ch×h×w split as [forget, update, candidate]; h: B×N×Ch×h×w.
    Returns f·h·(1-u) + u·c with f, u = sigmoid, c = tanh, computed in fp32 (the sensory memory stays fp32
    under bf16/fp16 inference, as in the reference's AMP).
    """
    values = values.float().contiguous()
    h = h.float()
    ch = h.shape[2]
    forget = torch.sigmoid(values[:, :, :ch])
    update = torch.sigmoid(values[:, :, ch:2 * ch])
    candidate = torch.tanh(values[:, :, 2 * ch:])
    return forget * h * (1 - update) + update * candidate


class HiddenReinforcer(nn.Module):
    """Deep update in the value encoder: transform([g, h]) -> gates. g: B×N×Cg×h×w, h: B×N×Ch×h×w -> B×N×Ch×h×w."""

    def __init__(self, g_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.transform = GConv2D(g_dim + hidden_dim, hidden_dim * 3, 3, padding=1)
        nn.init.xavier_normal_(self.transform.weight)

    def forward(self, g: Tensor, h: Tensor) -> Tensor:
        return gru_update(self.transform(torch.cat([g, h], 2)), h)


class HiddenUpdater(nn.Module):
    """Decoder's sensory update: 1×1 projections of g16, area-down(g8, ½), area-down(g4', ¼) summed, then the cell.

    g16: B×N×d16×h×w, g8: B×N×d8×2h×2w, g4': B×N×(d4+1)×4h×4w (pre-ReLU g4 with the logit), h: B×N×Ch×h×w.
    """

    def __init__(self, g_dims: tuple[int, int, int], mid_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.g16_conv = GConv2D(g_dims[0], mid_dim, 1)
        self.g8_conv = GConv2D(g_dims[1], mid_dim, 1)
        self.g4_conv = GConv2D(g_dims[2], mid_dim, 1)
        self.transform = GConv2D(mid_dim + hidden_dim, hidden_dim * 3, 3, padding=1)
        nn.init.xavier_normal_(self.transform.weight)

    def forward(self, g16: Tensor, g8: Tensor, g4: Tensor, h: Tensor) -> Tensor:
        x = self.g16_conv(g16) + self.g8_conv(downsample_groups(g8, 0.5)) + self.g4_conv(downsample_groups(g4, 0.25))
        return gru_update(self.transform(torch.cat([x, h], 2)), h)
