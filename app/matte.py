"""Matte maths for compositing exports and the canvas preview (Qt-free, numpy + OpenCV).

An alpha matte here is an H×W float32 array in [0, 1]. It starts from the index mask of the chosen objects
(the workspace keeps hard index masks, not the model's per-frame probabilities) and is shaped by three edge
controls, applied in this order:

  grow / shrink   morphological dilation (>0) or erosion (<0) by a disc of `grow` pixels
  feather         Gaussian soft edge of `feather` pixels radius (σ = radius / 2)
  temporal        average with the `temporal` frames on each side, only in a band around this frame's edge,
                  which removes boundary flicker without ghosting the interior of a moving object
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class EdgeSettings:
    """Edge controls of an exported matte (pixels at source resolution)."""

    grow: int = 0  # dilate (>0) or erode (<0) the matte by this many pixels
    feather: float = 0.0  # soft-edge radius in pixels (0: hard edge)
    temporal: int = 0  # frames averaged on each side of the current one at the edge (0: off)

    @property
    def is_identity(self) -> bool:
        return self.grow == 0 and self.feather <= 0 and self.temporal <= 0

    def band(self) -> int:
        """Half-width in pixels of the edge band where temporal smoothing applies."""
        return int(np.ceil(abs(self.grow) + 2 * self.feather)) + 2


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def object_alpha(mask: np.ndarray | None, objects: Iterable[int], size: tuple[int, int]) -> np.ndarray:
    """H×W float32 0/1 alpha of the pixels whose index is one of `objects` (zeros without a mask)."""
    if mask is None:
        return np.zeros(size, np.float32)
    keep = np.zeros(256, bool)
    keep[[int(o) for o in objects]] = True
    keep[0] = False
    return keep[mask].astype(np.float32)


def grow_shrink(alpha: np.ndarray, px: int) -> np.ndarray:
    """Dilate (px > 0) or erode (px < 0) an H×W float32 alpha by a disc of |px| pixels."""
    if px == 0:
        return alpha
    op = cv2.dilate if px > 0 else cv2.erode
    return op(alpha, _disc(abs(int(px))), borderType=cv2.BORDER_REPLICATE)


def feather(alpha: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian soft edge of `radius` pixels (σ = radius / 2) on an H×W float32 alpha."""
    if radius <= 0:
        return alpha
    sigma = float(radius) / 2.0
    k = 2 * int(np.ceil(3 * sigma)) + 1
    return cv2.GaussianBlur(alpha, (k, k), sigma, borderType=cv2.BORDER_REPLICATE)


def spatial_matte(mask: np.ndarray | None, objects: Iterable[int], size: tuple[int, int],
                  edge: EdgeSettings) -> np.ndarray:
    """Grow/shrink then feather the objects' alpha: H×W float32 in [0, 1]."""
    a = object_alpha(mask, objects, size)
    a = grow_shrink(a, edge.grow)
    a = feather(a, edge.feather)
    return np.clip(a, 0.0, 1.0)


def edge_band(alpha: np.ndarray, px: int) -> np.ndarray:
    """Boolean H×W band of ±`px` pixels around the 0.5 contour of `alpha`."""
    hard = (alpha >= 0.5).astype(np.uint8)
    k = _disc(max(1, int(px)))
    return cv2.dilate(hard, k) != cv2.erode(hard, k)


def temporal_smooth(current: np.ndarray, neighbours: list[np.ndarray], band: np.ndarray) -> np.ndarray:
    """Mean of `current` and its `neighbours` (H×W float32 each) inside `band`; `current` elsewhere."""
    if not neighbours:
        return current
    mean = (current + sum(neighbours)) / (1 + len(neighbours))
    return np.where(band, mean, current).astype(np.float32)


def to_u8(alpha: np.ndarray) -> np.ndarray:
    """Float alpha [0, 1] -> uint8 0..255 (rounded)."""
    return np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)


class MatteSource:
    """Per-frame mattes of a clip with temporal smoothing; keeps the last few spatial mattes, so exporting frames
    in order computes each spatial matte once.

    `get_mask(frame)` returns the H×W uint8 index mask or None; frames outside 0..n_frames-1 are skipped.
    """

    def __init__(self, get_mask: Callable[[int], np.ndarray | None], size: tuple[int, int], n_frames: int,
                 objects: Iterable[int], edge: EdgeSettings) -> None:
        self.get_mask = get_mask
        self.size = (int(size[0]), int(size[1]))
        self.n_frames = int(n_frames)
        self.objects = tuple(int(o) for o in objects)
        self.edge = edge
        self._cache: OrderedDict[int, np.ndarray | None] = OrderedDict()
        self._keep = 2 * max(0, edge.temporal) + 2

    def _spatial(self, frame: int) -> np.ndarray | None:
        """Spatial matte of `frame`, or None when it has no mask (not used as a temporal neighbour)."""
        if frame in self._cache:
            self._cache.move_to_end(frame)
            return self._cache[frame]
        mask = self.get_mask(frame)
        a = None if mask is None else spatial_matte(mask, self.objects, self.size, self.edge)
        self._cache[frame] = a
        while len(self._cache) > self._keep:
            self._cache.popitem(last=False)
        return a

    def alpha(self, frame: int) -> np.ndarray:
        """H×W float32 matte of `frame` in [0, 1]."""
        cur = self._spatial(frame)
        if cur is None:
            return np.zeros(self.size, np.float32)
        k = max(0, self.edge.temporal)
        if k == 0:
            return cur
        near = [self._spatial(f) for f in range(frame - k, frame + k + 1)
                if f != frame and 0 <= f < self.n_frames]
        near = [a for a in near if a is not None]
        return temporal_smooth(cur, near, edge_band(cur, self.edge.band()))


def composite_matte(image: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """image·α + background·(1−α): H×W×3 uint8 from H×W×3 uint8 inputs and an H×W float32 alpha."""
    a = alpha[..., None]
    out = image.astype(np.float32) * a + background.astype(np.float32) * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
