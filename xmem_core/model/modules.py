"""Building blocks of XMem (spec §2.1): group convs, GroupResBlock, CBAM, FeatureFusionBlock, GRU-like cells.

A "group tensor" is B×N×C×H×W; 2-D convs fold B·N into the batch axis and share weights across objects.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _is_channels_last(t: Tensor) -> bool:
    """True for a 4-D tensor laid out channels-last (and not also plain contiguous, as when C == 1 or H·W == 1)."""
    return not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)


def as_batch(g: Tensor) -> Tensor:
    """B×N×C×H×W group tensor -> (B·N)×C×H×W view; a channels-last view gets canonical channels-last strides.

    Element-wise ops on 5-D views with B·N = 1 leave arbitrary strides on the size-1 axes; such a tensor is
    channels-last in memory, but resize kernels then fail to recognise it and copy it to NCHW and back (about
    7% of the Lite decoder). Re-striding a view over the same memory costs nothing.
    """
    x = g.flatten(0, 1)
    if _is_channels_last(x):
        c, h, w = x.shape[1:]
        x = x.as_strided(x.shape, (c * h * w, 1, w * c, c))
    return x


def _cat_dtype(parts: list[Tensor]) -> torch.dtype:
    """The dtype a convolution will see: the autocast dtype when autocast is on, else the promoted dtype."""
    device = parts[0].device.type
    if torch.is_autocast_enabled(device) and all(p.is_floating_point() for p in parts):
        return torch.get_autocast_dtype(device)
    dtype = parts[0].dtype
    for p in parts[1:]:
        dtype = torch.promote_types(dtype, p.dtype)
    return dtype


def group_cat(groups: list[Tensor], shared: Tensor | None = None) -> Tensor:
    """[shared broadcast over N, *groups] concatenated on channels -> B×N×ΣC×H×W.

    groups: B×N×Ci×H×W each; shared: B×Cs×H×W | None. The result is laid out channels-last when the first
    input is, and is written in the dtype the next convolution consumes (the autocast dtype under autocast), so
    it feeds a conv without a layout or dtype copy. Values are those of torch.cat (conv inputs only).
    """
    b, n = groups[0].shape[:2]
    parts = ([shared.unsqueeze(1).expand(-1, n, -1, -1, -1)] if shared is not None else []) + list(groups)
    first = shared if shared is not None else as_batch(groups[0])
    layout = torch.channels_last if _is_channels_last(first) else torch.contiguous_format
    channels = sum(p.shape[2] for p in parts)
    out = torch.empty((b * n, channels, *parts[0].shape[-2:]), dtype=_cat_dtype(parts), device=parts[0].device,
                      memory_format=layout)
    out5 = out.view(b, n, *out.shape[1:])
    start = 0
    for p in parts:
        out5[:, :, start:start + p.shape[2]] = p
        start += p.shape[2]
    return out5


class GConv2D(nn.Conv2d):
    """Conv2d on a group tensor: B×N×Cin×H×W -> B×N×Cout×H'×W'."""

    def forward(self, g: Tensor) -> Tensor:  # type: ignore[override]
        b, n = g.shape[:2]
        out = super().forward(as_batch(g))
        return out.view(b, n, *out.shape[1:])

    def forward_shared(self, x: Tensor, g: Tensor) -> Tensor:
        """This conv on [x broadcast over N, g] without materialising it: conv(x, W_x) once + conv(g, W_g) per object.

        x: B×Cx×H×W, g: B×N×Cg×H×W with Cx + Cg = in_channels -> B×N×Cout×H'×W'. Convolution is linear in its
        input channels, so the shared part is computed once per frame instead of once per object.
        """
        b, n = g.shape[:2]
        w_x, w_g = self._split_weight(x.shape[1])
        out_x = self._conv_forward(x, w_x, self.bias)
        out_g = self._conv_forward(as_batch(g), w_g, None)
        return out_x.unsqueeze(1) + out_g.view(b, n, *out_g.shape[1:])

    def _split_weight(self, cx: int) -> tuple[Tensor, Tensor]:
        """(W[:, :cx], W[:, cx:]) in the weight's layout, cached until the weight changes (inference only)."""
        w = self.weight.detach()
        key = (cx, w.data_ptr(), w._version, w.dtype)
        cached = self.__dict__.get("_split_cache")
        if cached is None or cached[0] != key:
            layout = torch.channels_last if _is_channels_last(w) else torch.contiguous_format
            cached = (key, w[:, :cx].contiguous(memory_format=layout), w[:, cx:].contiguous(memory_format=layout))
            self.__dict__["_split_cache"] = cached
        return cached[1], cached[2]


def upsample_groups(g: Tensor, ratio: float = 2) -> Tensor:
    """Bilinear (align_corners=False) resize of a group tensor B×N×C×H×W by `ratio`, in g's dtype.

    Autocast is off here: CPU autocast runs resizes in fp32, which would cost a bf16→fp32 copy in and an fp32
    add/copy back out for every group feature map; interpolating bf16 values in bf16 loses nothing the next
    (bf16) convolution keeps.
    """
    b, n = g.shape[:2]
    with torch.autocast(g.device.type, enabled=False):
        out = F.interpolate(as_batch(g), scale_factor=ratio, mode="bilinear", align_corners=False)
    return out.view(b, n, *out.shape[1:])


def downsample_groups(g: Tensor, ratio: float = 0.5) -> Tensor:
    """Area (average-pool) resize of a group tensor B×N×C×H×W by `ratio` (1/2 or 1/4), in g's dtype (as above)."""
    b, n = g.shape[:2]
    with torch.autocast(g.device.type, enabled=False):
        out = F.interpolate(as_batch(g), scale_factor=ratio, mode="area")
    return out.view(b, n, *out.shape[1:])


def add_into(out: Tensor, other: Tensor) -> Tensor:
    """out + other, written into `out` when that gives the same result (out already has the broadcast shape and the
    promoted dtype); else a new tensor. For sums whose left operand is a fresh intermediate (a conv or resize
    output that autograd does not save): it saves a full-size allocation, its page faults and one memory pass.
    """
    if torch.compiler.is_compiling():  # torch.result_type breaks a dynamo graph; a compiled graph fuses the add anyway
        return out + other
    if torch.result_type(out, other) == out.dtype and torch.broadcast_shapes(out.shape, other.shape) == out.shape:
        return out.add_(other)
    return out + other


def distribute(x: Tensor, g: Tensor, mode: str = "cat") -> Tensor:
    """Broadcast x (B×C×H×W) over the N slots of g (B×N×Cg×H×W): "cat" -> [x, g] on channels, "add" -> x + g.

    "add" writes into g when the dtypes allow (see add_into): pass a g that is not needed afterwards.
    """
    if mode == "cat":
        return group_cat([g], shared=x)
    if mode == "add":
        return add_into(g, x.unsqueeze(1))
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
        out = self.conv2(F.relu(out, inplace=True))
        shortcut = g if self.downsample is None else self.downsample(g)
        return add_into(out, shortcut)

    def forward_shared(self, x: Tensor, g: Tensor) -> Tensor:
        """forward(distribute(x, g, "cat")) with the x part of conv1 and the shortcut computed once for all N.

        x: B×Cx×H×W, g: B×N×Cg×H×W -> B×N×Cout×H×W. Same values up to float summation order.
        """
        if self.downsample is None:
            return self.forward(distribute(x, g, "cat"))
        out = self.conv1.forward_shared(F.relu(x), F.relu(g))
        out = self.conv2(F.relu(out, inplace=True))
        return add_into(out, self.downsample.forward_shared(x, g))


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
        if n > 1 and not torch.is_grad_enabled():  # inference with several objects: shared x part once
            g = self.block1.forward_shared(x, g)
        else:
            g = self.block1(distribute(x, g, "cat"))
        r = self.attention(as_batch(g)).view(b, n, *g.shape[2:])
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
        return gru_update(self.transform(group_cat([g, h])), h)


class HiddenUpdater(nn.Module):
    """Decoder's sensory update: 1×1 projections of g16, area-down(g8, ½) and area-down([g4, logit], ¼), summed,
    then the cell.

    g16: B×N×d16×h×w, g8: B×N×d8×2h×2w, g4: B×N×d4×4h×4w (pre-ReLU), logit: B×N×1×4h×4w, h: B×N×Ch×h×w.
    """

    def __init__(self, g_dims: tuple[int, int, int], mid_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.g16_conv = GConv2D(g_dims[0], mid_dim, 1)
        self.g8_conv = GConv2D(g_dims[1], mid_dim, 1)
        self.g4_conv = GConv2D(g_dims[2], mid_dim, 1)
        self.transform = GConv2D(mid_dim + hidden_dim, hidden_dim * 3, 3, padding=1)
        nn.init.xavier_normal_(self.transform.weight)

    def forward(self, g16: Tensor, g8: Tensor, g4: Tensor, logit: Tensor, h: Tensor) -> Tensor:
        """g4: B×N×d4×4h×4w (pre-ReLU), logit: B×N×1×4h×4w. Area resizing is per channel, so [g4, logit] is
        resized part by part and concatenated at h×w: no (d4+1)-channel copy of the largest map."""
        g4_small = group_cat([downsample_groups(g4, 0.25), downsample_groups(logit, 0.25)])
        x = self.g16_conv(g16) + self.g8_conv(downsample_groups(g8, 0.5)) + self.g4_conv(g4_small)
        return gru_update(self.transform(group_cat([x, h])), h)
