"""Decode and prepare frames ahead of the network in a background thread (bounded, so nothing accumulates)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from xmem_core.io.base import FrameSource

_STOP = object()


class FramePrefetcher:
    """Reads `order` from `frames` and applies `prepare` (decoded frame -> anything: the frame itself, or resized,
    normalised and uploaded) `depth` frames ahead.

    Decoding (PyAV, PIL, OpenCV) and tensor preparation release the GIL, so this overlaps with inference.
    Use as a context manager; `get()` returns items strictly in `order`.
    """

    def __init__(self, frames: FrameSource, order: list[int], prepare: Callable[[np.ndarray], Any],
                 depth: int = 3) -> None:
        self._frames = frames
        self._order = order
        self._prepare = prepare
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frame-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for idx in self._order:
            if self._stop.is_set():
                return
            try:
                item: object = (idx, self._prepare(self._frames[idx]))
            except BaseException as e:  # noqa: BLE001 - re-raised in the consumer's thread
                item = e
            if not self._put(item) or isinstance(item, BaseException):
                return
        self._put(_STOP)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, expected: int) -> Any:
        """The prepared frame `expected` (the next one in `order`)."""
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        if item is _STOP:
            raise RuntimeError("frame prefetcher ran out of frames")
        idx, tensor = item
        if idx != expected:
            raise RuntimeError(f"prefetcher out of order: got frame {idx}, expected {expected}")
        return tensor

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> FramePrefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
