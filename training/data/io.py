"""Decoding frames and masks, with a per-process LRU cache of decoded arrays bounded in bytes."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class ArrayCache:
    """LRU cache of numpy arrays keyed by (path, variant); `max_bytes` = 0 disables it.

    Each DataLoader worker owns a copy (a worker is a separate process); size it per worker.
    """

    def __init__(self, max_bytes: int = 0) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        arr = self._data.get(key)
        if arr is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return arr

    def put(self, key: tuple[str, str], arr: np.ndarray) -> None:
        if self.max_bytes <= 0 or arr.nbytes > self.max_bytes or key in self._data:
            return
        self._data[key] = arr
        self.bytes += arr.nbytes
        while self.bytes > self.max_bytes:
            _, old = self._data.popitem(last=False)
            self.bytes -= old.nbytes


def _shrink(arr: np.ndarray, max_short: int, interp: int) -> np.ndarray:
    """Downscale so the short side is at most `max_short` (0 = keep)."""
    h, w = arr.shape[:2]
    if max_short <= 0 or min(h, w) <= max_short:
        return arr
    s = max_short / min(h, w)
    return cv2.resize(arr, (round(w * s), round(h * s)), interpolation=interp)


def read_rgb(path: str | Path, cache: ArrayCache | None = None, max_short: int = 0) -> np.ndarray:
    """H×W×3 uint8 RGB, optionally downscaled (area) so the short side is <= max_short."""
    key = (str(path), f"rgb{max_short}")
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot decode image {path}")
    arr = _shrink(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), max_short, cv2.INTER_AREA)
    if cache is not None:
        cache.put(key, arr)
    return arr


def read_index_mask(path: str | Path, cache: ArrayCache | None = None, max_short: int = 0) -> np.ndarray:
    """H×W uint8 object-index map (palette index for mode P, else the gray value), nearest downscale."""
    key = (str(path), f"idx{max_short}")
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit
    with Image.open(path) as im:
        arr = np.array(im if im.mode in ("P", "L") else im.convert("L"), dtype=np.uint8)
    arr = _shrink(arr, max_short, cv2.INTER_NEAREST)
    if cache is not None:
        cache.put(key, arr)
    return arr


def read_binary_mask(path: str | Path) -> np.ndarray:
    """H×W float32 {0, 1} foreground mask: palette masks are fg where index > 0, gray masks where value > 127."""
    with Image.open(path) as im:
        if im.mode == "P":
            return (np.array(im) > 0).astype(np.float32)
        return (np.array(im.convert("L")) > 127).astype(np.float32)
