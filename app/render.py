"""Numpy compositing of frames and index masks: the canvas overlay modes and the exported overlay/cutouts."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from enum import StrEnum

import cv2
import numpy as np

from app.palette import PALETTE


class OverlayMode(StrEnum):
    """How masks are drawn over the frame."""

    BLEND = "blend"
    DIM = "dim"
    GRAYOUT = "grayout"
    OUTLINE = "outline"
    MASK = "mask"
    CHECKER = "checker"
    GREEN = "green"


MODE_LABELS = {
    OverlayMode.BLEND: "Colour blend",
    OverlayMode.DIM: "Dimmed background",
    OverlayMode.GRAYOUT: "Gray-out others",
    OverlayMode.OUTLINE: "Outline only",
    OverlayMode.MASK: "Mask only",
    OverlayMode.CHECKER: "Cutout on checkerboard",
    OverlayMode.GREEN: "Cutout on green",
}


def visible_mask(mask: np.ndarray | None, visible: Iterable[int]) -> np.ndarray | None:
    """`mask` with hidden objects set to 0 (None stays None)."""
    if mask is None:
        return None
    vis = np.zeros(256, dtype=bool)
    vis[list(visible)] = True
    vis[0] = False
    return np.where(vis[mask], mask, 0).astype(np.uint8)


@functools.lru_cache(maxsize=2)
def checkerboard(h: int, w: int, cell: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    light = ((yy // cell + xx // cell) % 2 == 0)
    out = np.empty((h, w, 3), np.uint8)
    out[light] = 200
    out[~light] = 150
    return out


def outlines(mask: np.ndarray, thickness: int = 2) -> np.ndarray:
    """Boolean boundary pixels of each label region."""
    k = np.ones((3, 3), np.uint8)
    dil = cv2.dilate(mask, k, iterations=thickness)
    ero = cv2.erode(mask, k, iterations=thickness)
    return (dil != ero) & ((dil > 0) | (ero > 0))


def composite(image: np.ndarray, mask: np.ndarray | None, mode: OverlayMode = OverlayMode.BLEND,
              opacity: float = 0.5, visible: Iterable[int] | None = None, selected: int | None = None) -> np.ndarray:
    """RGB H×W×3 uint8 rendering of `image` with `mask` drawn in `mode`. Hidden objects are not drawn."""
    mode = OverlayMode(mode)
    if visible is not None:
        mask = visible_mask(mask, visible)
    if mask is None:
        mask = np.zeros(image.shape[:2], np.uint8)
    fg = mask > 0
    fg3 = fg[..., None]
    colors = PALETTE[mask]
    a = float(np.clip(opacity, 0.0, 1.0))
    if mode == OverlayMode.BLEND:
        out = np.where(fg3, cv2.addWeighted(image, 1 - a, colors, a, 0), image)
        ol = outlines(mask, 1)
        out[ol] = colors[ol]
        return out
    if mode == OverlayMode.DIM:
        return np.where(fg3, image, cv2.convertScaleAbs(image, alpha=1 - 0.8 * max(a, 0.2)))
    if mode == OverlayMode.GRAYOUT:
        gray = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        gray = cv2.convertScaleAbs(gray, alpha=0.8)
        keep = ((mask == selected) if selected is not None else fg)[..., None]
        return np.where(keep, cv2.addWeighted(image, 1 - a * 0.5, colors, a * 0.5, 0), gray)
    if mode == OverlayMode.OUTLINE:
        out = image.copy()
        ol = outlines(mask, 2)
        out[ol] = colors[ol]
        return out
    if mode == OverlayMode.MASK:
        return colors
    h, w = mask.shape
    if mode == OverlayMode.CHECKER:
        bg = checkerboard(h, w)
    else:
        bg = np.broadcast_to(np.array([0, 177, 64], np.uint8), (h, w, 3))
    return np.where(fg3, image, bg).astype(np.uint8)


def matte_cutout(image: np.ndarray, alpha: np.ndarray, green: bool = False) -> np.ndarray:
    """H×W×3 uint8 preview of a soft matte (H×W float32 in [0, 1]) over a checkerboard or green screen."""
    from app.matte import composite_matte

    h, w = alpha.shape
    bg = np.broadcast_to(np.array([0, 177, 64], np.uint8), (h, w, 3)) if green else checkerboard(h, w)
    return composite_matte(image, alpha, bg)
