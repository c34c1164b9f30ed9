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


def prepare_image(frame: np.ndarray, geo: Geometry, device: torch.device | str = "cpu") -> Tensor:
    """H×W×3 uint8 RGB -> 1×3×Hp×Wp normalised, padded with zeros in normalised space (= mean colour)."""
    if frame.shape[:2] != geo.source:
        raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, expected {geo.source[1]}x{geo.source[0]}")
    rh, rw = geo.resized
    if (rh, rw) != geo.source:
        interp = cv2.INTER_AREA if rh < geo.source[0] else cv2.INTER_LINEAR
        frame = cv2.resize(frame, (rw, rh), interpolation=interp)
    x = torch.from_numpy(np.ascontiguousarray(frame)).to(device).permute(2, 0, 1)[None]
    return F.pad(normalize(x), geo.pad)


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


def prob_to_index(prob: Tensor, object_ids: list[int]) -> np.ndarray:
    """(N+1)×H×W probabilities -> H×W uint8 mask of user ids (argmax including background, first max wins).

    A running maximum over the few channels: equal to `argmax(0)`, which is a slow strided reduction on the CPU.
    """
    best = prob[0].clone()
    index = torch.zeros(prob.shape[1:], dtype=torch.uint8, device=prob.device)
    for channel, obj_id in enumerate(object_ids, start=1):
        better = prob[channel] > best
        index.masked_fill_(better, obj_id)
        torch.maximum(best, prob[channel], out=best)
    return index.cpu().numpy()
