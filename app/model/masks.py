"""Sparse per-frame index masks at source resolution, persisted as palette PNGs with a bounded cache."""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np

from app.maskio import load_mask, save_mask

_NAME = re.compile(r"^(\d{6,})\.png$")


def mask_filename(frame: int) -> str:
    """Workspace file name of frame `frame`'s mask (source frame number, zero padded)."""
    return f"{frame:06d}.png"


class MaskStore:
    """frame → H×W uint8 index mask. Every `set` is written through to disk atomically (crash safe),
    and at most `cache_frames` masks stay decoded in RAM, so a 10,000-frame 1080p clip never sits whole in memory.
    """

    def __init__(self, folder: str | Path, size: tuple[int, int], cache_frames: int = 48) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.size = (int(size[0]), int(size[1]))
        self.cache_frames = max(2, cache_frames)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._frames: set[int] = set()
        self._versions: dict[int, int] = {}
        for p in self.folder.iterdir():
            m = _NAME.match(p.name)
            if m:
                self._frames.add(int(m.group(1)))

    # ---- queries ----
    def __contains__(self, frame: object) -> bool:
        return frame in self._frames

    def __len__(self) -> int:
        return len(self._frames)

    def frames(self) -> list[int]:
        """Frames that have a mask, sorted."""
        return sorted(self._frames)

    def version(self, frame: int) -> int:
        """Counter bumped on every change of `frame` (for caches and engine sync)."""
        return self._versions.get(frame, 0)

    def path(self, frame: int) -> Path:
        return self.folder / mask_filename(frame)

    def get(self, frame: int) -> np.ndarray | None:
        """The mask of `frame` (a read-only view; copy before editing) or None."""
        if frame not in self._frames:
            return None
        arr = self._cache.get(frame)
        if arr is None:
            arr = load_mask(self.path(frame), size=self.size)
            arr.setflags(write=False)
            self._remember(frame, arr)
        else:
            self._cache.move_to_end(frame)
        return arr

    def get_or_empty(self, frame: int) -> np.ndarray:
        """A writable copy of the mask of `frame`, or zeros."""
        m = self.get(frame)
        return np.zeros(self.size, np.uint8) if m is None else m.copy()

    # ---- edits ----
    def set(self, frame: int, mask: np.ndarray | None) -> None:
        """Store (or with None delete) the mask of `frame`; written to disk before returning."""
        self._versions[frame] = self._versions.get(frame, 0) + 1
        if mask is None:
            self._frames.discard(frame)
            self._cache.pop(frame, None)
            self.path(frame).unlink(missing_ok=True)
            return
        mask = np.asarray(mask, dtype=np.uint8)
        if mask.shape != self.size:
            raise ValueError(f"mask is {mask.shape[1]}×{mask.shape[0]} but the clip is {self.size[1]}×{self.size[0]}")
        arr = mask.copy()
        arr.setflags(write=False)
        save_mask(self.path(frame), arr)
        self._frames.add(frame)
        self._remember(frame, arr)

    def _remember(self, frame: int, arr: np.ndarray) -> None:
        self._cache[frame] = arr
        self._cache.move_to_end(frame)
        while len(self._cache) > self.cache_frames:
            self._cache.popitem(last=False)

    def cached_count(self) -> int:
        return len(self._cache)
