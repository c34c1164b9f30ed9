"""Winograd F(2×2, 3×3) convolution for the wide 3×3 convolutions of the bf16 decoder on the CPU.

A 3×3 convolution computes each 2×2 output tile from a 4×4 input tile with 36 multiplies per (Cin, Cout) pair;
Winograd's minimal filtering computes the same tile from 16 element-wise products of transformed tiles
(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016):

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A

summed over input channels, which makes the products 16 batched matrix multiplies (tiles × Cin) @ (Cin × Cout):
2.25× fewer multiply-adds than the direct convolution. The transforms are additions and subtractions (G also
halves), done here with strided tensor ops on channels-last (NHWC) memory, band by band, so they are memory passes.
They pay off when Cin·Cout is large relative to the map (the paper decoder's 512- and 1,536-channel convolutions:
1.5–1.8× faster in bf16 at 480p on a 2-core AVX-512-BF16 CPU; 256×256 at 120×216 1.35×, `benchmarks/bench_conv.py`),
not for narrow ones, hence `worth_it`. In fp32 the result equals the direct convolution to ~1e-6 relative, but the
engine keeps fp32 as the exact path and uses Winograd in bf16 only, where the transformed tiles and products are
rounded to bf16: about twice the direct bf16 convolution's error (README, Performance, for the effect on masks).
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Filter transform G (4×3) of F(2×2, 3×3); the data (Bᵀ) and output (Aᵀ) transforms are written out as
# additions in `_input_transform` and `_output_transform`.
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))

# When `worth_it` picks Winograd (measured at 480p in bf16, 2 threads): both Cin·Cout ≥ MIN_CHANNEL_PRODUCT
# (256×256 gains 1.2–1.4× and 512×512 1.7× in isolation; 256×128 and narrower little or nothing) and
# B·H·W·Cin·Cout ≥ MIN_WORK (the per-call transforms and bands cost more than they save below it: xmem-lite's
# single-object 1/16 fusion convolutions, 256×256 and 440×256 at 30×54, ran about 5 ms slower per frame with it).
MIN_CHANNEL_PRODUCT = 256 * 256
MIN_WORK = 2**28

# Size of one band's transformed tiles in `conv3x3` (bytes).
BAND_BYTES = 16 << 20

# XMEM_WINOGRAD=0 turns it off process-wide (A/B benchmarks: `bench_propagate.py --winograd on off`).
ENABLED = os.environ.get("XMEM_WINOGRAD", "1") != "0"


def transform_weight(weight: Tensor) -> Tensor:
    """Cout×Cin×3×3 filters -> 16×Cin×Cout transformed filters G g Gᵀ in the weight's dtype, laid out as the
    right-hand operand of the batched multiply.

    Computed in fp32 as one (Cout·Cin × 9) @ (9 × 16) product with (G ⊗ G)ᵀ, whose entries are 0, ±¼, ±½ and 1,
    so the only rounding that matters is the final one to the weight's dtype; peak extra memory is about three
    fp32 copies of the filters.
    """
    g = torch.tensor(_G, dtype=torch.float32, device=weight.device)
    kron = torch.kron(g, g)  # 16×9: row 4a+b, column 3y+x = G[a,y]·G[b,x]
    cout, cin = weight.shape[:2]
    u = weight.detach().reshape(cout * cin, 9).float() @ kron.T  # (Cout·Cin)×16
    out = torch.empty((16, cin, cout), dtype=weight.dtype, device=weight.device)
    out.copy_(u.view(cout, cin, 16).permute(2, 1, 0))
    return out


def _input_transform(xp: Tensor) -> Tensor:
    """Bᵀ d B for every 4×4 tile (stride 2) of a padded band. xp: B×(2n+2)×(2tw+2)×C (NHWC) -> 16×(B·n·tw)×C.

    Bᵀ rows are (1, 0, −1, 0), (0, 1, 1, 0), (0, −1, 1, 0), (0, 1, 0, −1), applied to rows, then to columns.
    """
    b, hp, wp, c = xp.shape
    n, tw = hp // 2 - 1, wp // 2 - 1
    r = [xp[:, k:k + 2 * n:2] for k in range(4)]  # B×n×Wp×C each: row k of every tile
    rows = torch.empty((4, b, n, wp, c), dtype=xp.dtype, device=xp.device)
    _apply_bt(r, rows)
    cols = [rows[:, :, :, k:k + 2 * tw:2] for k in range(4)]  # 4×B×n×tw×C each
    v = torch.empty((4, 4, b, n, tw, c), dtype=xp.dtype, device=xp.device)
    _apply_bt(cols, v.transpose(0, 1))
    return v.view(16, b * n * tw, c)


def _apply_bt(d: list[Tensor], out: Tensor) -> None:
    """out[0..3] = Bᵀ applied along the list axis: d0 − d2, d1 + d2, d2 − d1, d1 − d3."""
    torch.sub(d[0], d[2], out=out[0])
    torch.add(d[1], d[2], out=out[1])
    torch.sub(d[2], d[1], out=out[2])
    torch.sub(d[1], d[3], out=out[3])


def _output_transform(m: Tensor, out: Tensor) -> None:
    """Aᵀ m A for every tile of a band: m 16×(B·n·tw)×Cout -> out, a B×n×2×tw×2×Cout view of the output.

    Aᵀ rows are (1, 1, 1, 0) and (0, 1, −1, −1), applied to columns, then to rows.
    """
    b, n, _, tw, _, cout = out.shape
    m = m.view(4, 4, b, n, tw, cout)
    half = torch.empty((4, 2, b, n, tw, cout), dtype=m.dtype, device=m.device)
    _apply_at([m[:, k] for k in range(4)], half.transpose(0, 1))
    _apply_at([half[k] for k in range(4)], out.permute(2, 4, 0, 1, 3, 5))


def _apply_at(m: list[Tensor], out: Tensor) -> None:
    """out[0] = m0 + m1 + m2, out[1] = m1 − m2 − m3 (Aᵀ along the list axis)."""
    torch.add(m[0], m[1], out=out[0])
    out[0].add_(m[2])
    torch.sub(m[1], m[2], out=out[1])
    out[1].sub_(m[3])


def conv3x3(x: Tensor, u: Tensor, bias: Tensor | None = None) -> Tensor:
    """3×3 convolution, stride 1, padding 1, by Winograd F(2×2, 3×3).

    x: B×Cin×H×W (any layout; channels-last avoids a copy), u: 16×Cin×Cout from `transform_weight`,
    bias: Cout | None.
    Returns B×Cout×H×W, channels-last, in u's dtype.

    The map is done in bands of tile rows whose transformed tiles take about BAND_BYTES, so the intermediates stay
    small (and cache-resident) whatever the resolution.
    """
    b, cin, h, w = x.shape
    cout = u.shape[2]
    th, tw = (h + 1) // 2, (w + 1) // 2
    xp = F.pad(x.to(u.dtype), (1, 1 + 2 * tw - w, 1, 1 + 2 * th - h))  # B×Cin×(2th+2)×(2tw+2)
    nhwc = xp.permute(0, 2, 3, 1)
    out = torch.empty((b, th, 2, tw, 2, cout), dtype=u.dtype, device=x.device)
    bias = bias.to(out.dtype) if bias is not None else None
    band = max(1, BAND_BYTES // (16 * b * tw * max(cin, cout) * u.element_size()))
    for r0 in range(0, th, band):
        r1 = min(th, r0 + band)
        m = torch.bmm(_input_transform(nhwc[:, 2 * r0:2 * r1 + 2]), u)  # 16×(B·n·tw)×Cout
        _output_transform(m, out[:, r0:r1])
        if bias is not None:
            out[:, r0:r1].add_(bias)
    y = out.view(b, 2 * th, 2 * tw, cout).permute(0, 3, 1, 2)
    if 2 * th != h or 2 * tw != w:
        y = y[:, :, :h, :w]
    return y


def applicable(conv: nn.Conv2d) -> bool:
    """Whether `conv` is a plain 3×3, stride-1, padding-1 convolution (the case F(2×2, 3×3) computes)."""
    return (conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
            and conv.dilation == (1, 1) and conv.groups == 1 and conv.padding_mode == "zeros")


def worth_it(x: Tensor, weight: Tensor) -> bool:
    """Use Winograd for this call: switched on, inference (no autograd), a batched input x: B×Cin×H×W, bf16
    filters on the CPU with Cin·Cout ≥ MIN_CHANNEL_PRODUCT, and enough work (B·H·W·Cin·Cout ≥ MIN_WORK)."""
    channel_product = weight.shape[0] * weight.shape[1]
    if (not ENABLED or x.dim() != 4 or torch.is_grad_enabled() or weight.dtype != torch.bfloat16
            or weight.device.type != "cpu" or x.device != weight.device or channel_product < MIN_CHANNEL_PRODUCT):
        return False
    b, _, h, w = x.shape
    return b * h * w * channel_product >= MIN_WORK


class WinogradMixin:
    """Routes an nn.Conv2d's convolution through `conv3x3` when `worth_it`, else the direct convolution.

    The transformed filters are cached per weight tensor (the module's own, or a slice of it passed to
    `_conv_forward`, as `GConv2D.forward_shared` does) at the first call that uses them, and recomputed if that
    tensor changes.
    """

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:  # noqa: A002
        if worth_it(input, weight):
            return conv3x3(input, self._transformed(weight), bias)
        return super()._conv_forward(input, weight, bias)  # type: ignore[misc]

    def _transformed(self, weight: Tensor) -> Tensor:
        """weight's transformed filters, from the cache when computed for this very tensor at its current version.

        Entries hold the weight tensor itself, so its memory cannot be reused by another tensor while cached;
        inference tensors (slices made under inference_mode) have no version counter and never change.
        """
        version = None if weight.is_inference() else weight._version
        cache: list = self.__dict__.setdefault("_winograd_cache", [])
        for cached_weight, cached_version, u in cache:
            if cached_weight is weight and cached_version == version:
                return u
        if len(cache) >= 4:  # at most the full weight and its two shared-input slices, plus a stale one
            cache.clear()
        u = transform_weight(weight.detach())
        cache.append((weight, version, u))
        return u
