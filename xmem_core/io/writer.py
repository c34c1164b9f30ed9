"""Background mask writer: PNG encoding overlaps with inference; at most `depth` masks wait in memory."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import numpy as np

from xmem_core.io.masks import write_mask


class PendingMask(Protocol):
    """A mask that may still be in flight (xmem_core.inference.transfer.HostMask)."""

    def result(self) -> np.ndarray: ...


def _write_pending(path: str | os.PathLike, mask: PendingMask) -> None:
    write_mask(path, np.asarray(mask.result(), dtype=np.uint8))


class MaskWriter:
    """Writes index masks as palette PNGs (atomically) on one worker thread. Errors surface on the next call."""

    def __init__(self, depth: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mask-writer")
        self._pending: deque[Future] = deque()
        self._depth = depth

    def write(self, path: str | os.PathLike, mask: np.ndarray | PendingMask) -> None:
        """Queue `mask` (H×W uint8, copied; or a pending mask, e.g. one still being copied from the GPU, waited
        for in the writer thread) for `path`; blocks while `depth` writes are pending."""
        while len(self._pending) >= self._depth:
            self._pending.popleft().result()
        if isinstance(mask, np.ndarray):
            mask = np.array(mask, dtype=np.uint8, copy=True)
            self._pending.append(self._pool.submit(write_mask, path, mask))
        else:
            self._pending.append(self._pool.submit(_write_pending, path, mask))

    def close(self) -> None:
        """Wait for every queued write; re-raise the first error."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> MaskWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        with contextlib.suppress(Exception):  # already failing: finish queued writes, keep the caller's error
            self.close()
