"""Frame and mask preparation: normalise, resize to a short side, pad to multiples of 16, and back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Geometry:
    """How a source frame maps to the padded processing grid."""

    source: tuple[int, int]  # (H, W) of the source frame
    resized: tuple[int, int]  # (h, w) after resizing to the short side
    pad: tuple[int, int, int, int]  # (left, right, top, bottom)

    @property
    def padded(self) -> tuple[int, int]:
        return (self.resized[0] + self.pad[2] + self.pad[3], self.resized[1] + self.pad[0] + self.pad[1])


def make_geometry(source: tuple[int, int], size: int, multiple: int = 16) -> Geometry:
    """Short side to `size` (size <= 0 keeps the source), then centred padding to `multiple` (spec §5.11)."""
    h, w = source
    if size > 0:
        short = min(h, w)
        rh, rw = (size, int(w * size / short)) if h <= w else (int(h * size / short), size)
    else:
        rh, rw = h, w
    ph, pw = (-rh) % multiple, (-rw) % multiple
    return Geometry(source=(h, w), resized=(rh, rw), pad=(pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


def normalize(image: Tensor) -> Tensor:
    """uint8 or [0,1] RGB B×3×H×W -> ImageNet-normalised float."""
    x = image.float() / 255.0 if image.dtype == torch.uint8 else image.float()
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def resize_frame(frame: np.ndarray, geo: Geometry) -> np.ndarray:
    """H×W×3 uint8 source frame -> h×w×3 uint8 at processing size (area when shrinking, bilinear when growing)."""
    if frame.shape[:2] != geo.source:
        raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, expected {geo.source[1]}x{geo.source[0]}")
    rh, rw = geo.resized
    if (rh, rw) != geo.source:
        interp = cv2.INTER_AREA if rh < geo.source[0] else cv2.INTER_LINEAR
        frame = cv2.resize(frame, (rw, rh), interpolation=interp)
    return np.ascontiguousarray(frame)


def normalize_pad(x: Tensor, geo: Geometry) -> Tensor:
    """h×w×3 uint8 tensor (resized frame, any device) -> 1×3×Hp×Wp normalised and padded."""
    return F.pad(normalize(x.permute(2, 0, 1)[None]), geo.pad)


def prepare_image(frame: np.ndarray, geo: Geometry, device: torch.device | str = "cpu") -> Tensor:
    """H×W×3 uint8 RGB -> 1×3×Hp×Wp normalised, padded with zeros in normalised space (= mean colour)."""
    return normalize_pad(torch.from_numpy(resize_frame(frame, geo)).to(device), geo)


def prepare_mask(mask: np.ndarray, ids: list[int], geo: Geometry, device: torch.device | str = "cpu") -> Tensor:
    """H×W index mask -> K×Hp×Wp float one-hot for `ids` (nearest resize, zero padding)."""
    if mask.shape[:2] != geo.source:
        raise ValueError(f"mask is {mask.shape[1]}x{mask.shape[0]}, frame is {geo.source[1]}x{geo.source[0]}")
    rh, rw = geo.resized
    if (rh, rw) != geo.source:
        mask = cv2.resize(mask, (rw, rh), interpolation=cv2.INTER_NEAREST)
    m = torch.from_numpy(np.ascontiguousarray(mask)).to(device)
    onehot = torch.stack([m == i for i in ids]).float() if ids else m.new_zeros((0, rh, rw), dtype=torch.float32)
    return F.pad(onehot, geo.pad)


def unpad(x: Tensor, geo: Geometry) -> Tensor:
    """Crop the padding off a …×Hp×Wp tensor."""
    left, right, top, bottom = geo.pad
    hp, wp = x.shape[-2:]
    return x[..., top : hp - bottom, left : wp - right]


def to_source(prob: Tensor, geo: Geometry) -> Tensor:
    """(N+1)×Hp×Wp probabilities -> (N+1)×H×W at source resolution (bilinear, align_corners=False)."""
    p = unpad(prob, geo)
    if tuple(p.shape[-2:]) != geo.source:
        p = F.interpolate(p[None], size=geo.source, mode="bilinear", align_corners=False)[0]
    return p


def prob_index(prob: Tensor, object_ids: list[int], out: Tensor | None = None) -> Tensor:
    """(N+1)×H×W probabilities -> H×W uint8 tensor of user ids on prob's device (argmax including background,
    first max wins), written into `out` when given.

    A running maximum over the few channels: equal to `argmax(0)`, which is a slow strided reduction on the CPU.
    """
    best = prob[0].clone()
    index = torch.zeros(prob.shape[1:], dtype=torch.uint8, device=prob.device) if out is None else out.zero_()
    for channel, obj_id in enumerate(object_ids, start=1):
        better = prob[channel] > best
        index.masked_fill_(better, obj_id)
        torch.maximum(best, prob[channel], out=best)
    return index


def prob_to_index(prob: Tensor, object_ids: list[int]) -> np.ndarray:
    """`prob_index` as a host H×W uint8 array."""
    return prob_index(prob, object_ids).cpu().numpy()


# Upsampled probabilities beyond this many elements ((N+1)·H·W) are computed in bands of rows (`source_index`):
# 4K with 3 objects would otherwise be a 133 MB fp32 tensor (plus the same again for the interpolation).
OUTPUT_TILE_ELEMENTS = 2**24


def source_index(prob: Tensor, object_ids: list[int], geo: Geometry,
                 max_elements: int = OUTPUT_TILE_ELEMENTS) -> Tensor:
    """(N+1)×Hp×Wp padded probabilities -> H×W uint8 index mask at source resolution, on prob's device.

    Up to `max_elements` upsampled values this is `prob_index(to_source(prob))` exactly; beyond, bilinear
    upsampling (same sampling as F.interpolate, align_corners=False) and the argmax run on bands of output rows
    of at most `max_elements` values, so memory is bounded at any source size. Band values may differ from
    F.interpolate's in the last bit (operation order), which can only flip exact ties.
    """
    p = unpad(prob, geo)
    h, w = geo.source
    if tuple(p.shape[-2:]) == geo.source or p.shape[0] * h * w <= max_elements:
        return prob_index(to_source(prob, geo), object_ids)
    rows = max(1, max_elements // (p.shape[0] * w))
    out = torch.empty((h, w), dtype=torch.uint8, device=p.device)
    for y in range(0, h, rows):
        y0, y1, wy = _linear_taps(p.shape[-2], h, p.device, y, min(h, y + rows))
        # rows by explicit lerp, columns by F.interpolate with the row count unchanged (an identity along rows)
        band = p.index_select(1, y0) * (1 - wy)[:, None] + p.index_select(1, y1) * wy[:, None]  # C×m×w
        band = F.interpolate(band[None], size=(band.shape[1], w), mode="bilinear", align_corners=False)[0]
        prob_index(band, object_ids, out=out[y : y + band.shape[1]])
    return out


def _linear_taps(n_in: int, n_out: int, device: torch.device, start: int = 0,
                 stop: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Source indices (i0, i1) and weight of i1 for output positions start..stop-1 of a bilinear resize
    n_in -> n_out with align_corners=False (PyTorch's convention: clamped at 0, i1 = i0 + 1 inside)."""
    pos = torch.arange(start, n_out if stop is None else stop, device=device, dtype=torch.float32)
    src = ((pos + 0.5) * (n_in / n_out) - 0.5).clamp_(min=0.0)
    i0 = src.floor().long().clamp_(max=n_in - 1)
    i1 = (i0 + 1).clamp_(max=n_in - 1)
    return i0, i1, src - i0.float()
