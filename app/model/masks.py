"""Sparse per-frame index masks at source resolution, persisted as palette PNGs with a bounded cache."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np

from app.maskio import MaskFileError, load_mask, save_mask
from app.observer import Event
from xmem_core.io.atomic import sweep_stale_temps

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{6,})\.png$")


def mask_filename(frame: int) -> str:
    """Workspace file name of frame `frame`'s mask (source frame number, zero padded)."""
    return f"{frame:06d}.png"


class MaskStore:
    """frame → H×W uint8 index mask. Every `set` is written through to disk atomically (crash safe),
    and at most `cache_frames` masks stay decoded in RAM, so a 10,000-frame 1080p clip never sits whole in memory.

    Write failures lose nothing: a mask that could not be written stays in memory (`unsaved_frames`) and is written
    by the next successful write or `flush()`; `write_failed(folder, exc)` fires when the store goes from "all saved"
    to "some unsaved". A mask file that cannot be read is treated as missing: it is renamed to ``*.png.damaged``
    (kept, never deleted), logged, and `damaged(frame, message)` fires; propagation or painting repairs the frame.
    """

    def __init__(self, folder: str | Path, size: tuple[int, int], cache_frames: int = 48) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.size = (int(size[0]), int(size[1]))
        self.cache_frames = max(2, cache_frames)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._frames: set[int] = set()
        self._versions: dict[int, int] = {}
        self._unsaved: dict[int, np.ndarray | None] = {}  # frame -> mask not on disk yet (None: delete pending)
        self.last_error: OSError | None = None  # the latest failed write
        self.write_failed = Event()  # (folder: Path, error: OSError)
        self.damaged = Event()  # (frame: int, message: str)
        sweep_stale_temps(self.folder, lambda target: _NAME.match(target) is not None)  # left by a kill mid-write
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
        """The mask of `frame` (a read-only view; copy before editing) or None (also for an unreadable file)."""
        if frame not in self._frames:
            return None
        if frame in self._unsaved:
            return self._unsaved[frame]
        arr = self._cache.get(frame)
        if arr is None:
            try:
                arr = load_mask(self.path(frame), size=self.size)
            except MaskFileError as exc:
                self._set_aside(frame, str(exc))
                return None
            arr.setflags(write=False)
            self._remember(frame, arr)
        else:
            self._cache.move_to_end(frame)
        return arr

    def _set_aside(self, frame: int, reason: str) -> None:
        """Treat an unreadable mask file as missing; keep it as ``NNNNNN.png.damaged`` for the record."""
        self._frames.discard(frame)
        path = self.path(frame)
        kept = path.with_name(path.name + ".damaged")
        try:
            path.replace(kept)
        except OSError:
            kept = path
        message = (f"mask of frame {frame} is unreadable ({reason}); treated as missing until propagation or "
                   f"painting replaces it (file kept as {kept.name})")
        log.warning(message)
        self.damaged.emit(frame, message)

    def get_or_empty(self, frame: int) -> np.ndarray:
        """A writable copy of the mask of `frame`, or zeros."""
        m = self.get(frame)
        return np.zeros(self.size, np.uint8) if m is None else m.copy()

    # ---- edits ----
    def set(self, frame: int, mask: np.ndarray | None) -> None:
        """Store (or with None delete) the mask of `frame`; written to disk before returning when the disk allows."""
        self._versions[frame] = self._versions.get(frame, 0) + 1
        was_clean = not self._unsaved
        if mask is None:
            self._frames.discard(frame)
            self._cache.pop(frame, None)
            self._unsaved[frame] = None
        else:
            mask = np.asarray(mask, dtype=np.uint8)
            if mask.shape != self.size:
                raise ValueError(f"mask is {mask.shape[1]}×{mask.shape[0]} but the clip is "
                                 f"{self.size[1]}×{self.size[0]}")
            arr = mask.copy()
            arr.setflags(write=False)
            self._frames.add(frame)
            self._remember(frame, arr)
            self._unsaved[frame] = arr
        self.flush(first=frame, announce=was_clean)

    def flush(self, first: int | None = None, announce: bool = False) -> bool:
        """Write every mask still held in memory (`first` first); True when all are on disk.

        On a failure the rest stay in memory; `announce` fires `write_failed` (set() does when all was saved).
        """
        order = ([first] if first is not None else []) + [f for f in self._unsaved if f != first]
        for frame in order:
            arr = self._unsaved[frame]
            try:
                if arr is None:
                    self.path(frame).unlink(missing_ok=True)
                else:
                    save_mask(self.path(frame), arr)
            except OSError as exc:
                self.last_error = exc
                if announce:
                    self.write_failed.emit(self.folder, exc)
                return False
            del self._unsaved[frame]
        return True

    def unsaved_frames(self) -> list[int]:
        """Frames whose mask (or deletion) is only in memory because a write failed."""
        return sorted(self._unsaved)

    def _remember(self, frame: int, arr: np.ndarray) -> None:
        self._cache[frame] = arr
        self._cache.move_to_end(frame)
        while len(self._cache) > self.cache_frames:
            self._cache.popitem(last=False)

    def cached_count(self) -> int:
        return len(self._cache)
