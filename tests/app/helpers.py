"""Shared helpers for driving the window: synthesized mouse strokes and a slow fake engine session."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from xmem_core.memory.log import MemoryStats


def paint_stroke(canvas, points_img: list[tuple[float, float]], button=Qt.MouseButton.LeftButton) -> None:  # noqa: ANN001
    """Press at the first image point, move through the rest, release: one brush stroke."""
    pts = [canvas.to_widget(x, y).toPoint() for x, y in points_img]
    QTest.mousePress(canvas, button, Qt.KeyboardModifier.NoModifier, pts[0])
    for p in pts[1:]:
        QTest.mouseMove(canvas, p)
    QTest.mouseRelease(canvas, button, Qt.KeyboardModifier.NoModifier, pts[-1])


def click(canvas, x: float, y: float, button=Qt.MouseButton.LeftButton) -> QPoint:  # noqa: ANN001
    p = canvas.to_widget(x, y).toPoint()
    QTest.mouseClick(canvas, button, Qt.KeyboardModifier.NoModifier, p)
    return p


def _stats(frame: int) -> MemoryStats:
    """A plausible memory log entry for the fake session."""
    return MemoryStats(frame=frame, sensory_objects=1, working_frames=1, working_elements=24, long_term_elements=0,
                       working_capacity=96, long_term_capacity=64)


@dataclass
class _Result:
    frame: int
    mask: np.ndarray
    stats: MemoryStats
    is_keyframe: bool


class SlowSession:
    """Contract-shaped fake VideoSession: copies the start mask forward, `delay` seconds per frame."""

    def __init__(self, n: int, size: tuple[int, int], delay: float = 0.05) -> None:
        self.n, self.size, self.delay = n, size, delay
        self.keys: dict[int, np.ndarray] = {}
        self._cancel = threading.Event()
        self.visited: list[int] = []

    def set_mask(self, frame: int, mask: np.ndarray) -> None:
        self.keys[frame] = mask.copy()

    def clear_mask(self, frame: int) -> None:
        self.keys.pop(frame, None)

    def cancel(self) -> None:
        self._cancel.set()

    def reset_memory(self) -> None:
        pass

    def propagate(self, start, direction=1, stop=None, stop_at_keyframe=True, overwrite_keyframes=False,  # noqa: ANN001
                  start_mask=None):  # noqa: ANN001, ANN201
        self._cancel.clear()
        cur = start_mask if start_mask is not None else self.keys[start]
        last = (self.n - 1 if direction > 0 else 0) if stop is None else stop
        for f in range(start, last + direction, direction):
            if self._cancel.is_set():
                return
            time.sleep(self.delay)
            self.visited.append(f)
            if f in self.keys and f != start:
                cur = self.keys[f]
            yield _Result(f, cur.copy(), _stats(f), f in self.keys)
