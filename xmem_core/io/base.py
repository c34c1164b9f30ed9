"""Frame-source base class, error type and the small LRU frame cache shared by folder and video sources."""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["FrameSourceError", "FrameSource", "FrameCache", "natural_key"]


class FrameSourceError(ValueError):
    """A frame source could not be opened or a frame could not be read (one-line message)."""


def natural_key(name: str) -> list:
    """Sort key that orders embedded numbers numerically ("f2" < "f10"), case-insensitive otherwise."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok.lower()) for tok in re.split(r"(\d+)", name)]


class FrameCache:
    """Small thread-unsafe LRU of decoded frames, bounded by count and by bytes (callers hold the lock)."""

    def __init__(self, max_items: int = 32, max_bytes: int = 256 * 2**20) -> None:
        self.max_items = max(1, max_items)
        self.max_bytes = max_bytes
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, index: int) -> np.ndarray | None:
        """Return the cached frame (and mark it recently used) or None."""
        arr = self._items.get(index)
        if arr is not None:
            self._items.move_to_end(index)
        return arr

    def put(self, index: int, arr: np.ndarray) -> None:
        """Insert a frame, evicting the least recently used ones beyond the bounds (at least one is kept)."""
        old = self._items.pop(index, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._items[index] = arr
        self._bytes += arr.nbytes
        while len(self._items) > 1 and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
            _, evicted = self._items.popitem(last=False)
            self._bytes -= evicted.nbytes

    def clear(self) -> None:
        """Drop every cached frame."""
        self._items.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


class FrameSource(ABC):
    """A random-access, lazily read sequence of RGB frames that all share one size.

    ``src[i]`` returns a fresh H×W×3 uint8 RGB array (callers may modify it); negative indices count from the end.
    Reads are serialised by a lock, so one reader thread plus a GUI thread may share a source.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._cache = FrameCache()
        self.notes: list[str] = []  # what was found and corrected at open (e.g. a truncated video), one line each

    @abstractmethod
    def __len__(self) -> int: ...

    @property
    @abstractmethod
    def size(self) -> tuple[int, int]:
        """Frame size as (H, W)."""

    @property
    @abstractmethod
    def names(self) -> list[str]:
        """Output file stems, one per frame (mask i is saved as ``names[i] + '.png'``)."""

    @abstractmethod
    def _read(self, index: int) -> np.ndarray:
        """Read frame ``index`` (0 <= index < len) as H×W×3 uint8 RGB; called with the lock held."""

    def __getitem__(self, index: int) -> np.ndarray:
        n = len(self)
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"frame index must be an int, not {type(index).__name__}")
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"frame index {index} out of range for {n} frames")
        with self._lock:
            arr = self._cache.get(i)
            if arr is None:
                arr = self._read(i)
                self._cache.put(i, arr)
            return arr.copy()

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def close(self) -> None:
        """Release file handles and cached frames; the source may not be read afterwards."""
        with self._lock:
            self._cache.clear()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, frames={len(self)}, size={self.size})"
