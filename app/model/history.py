"""Undo/redo: one step per stroke, per propagation run, and per object added, renamed, recoloured or deleted."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.model.objects import ObjectsState
from app.observer import Event


@dataclass
class Packed:
    """A zlib-compressed mask (masks compress ~100×, so long histories stay small)."""

    shape: tuple[int, int]
    data: bytes

    @classmethod
    def pack(cls, mask: np.ndarray | None) -> "Packed | None":
        if mask is None:
            return None
        return cls((int(mask.shape[0]), int(mask.shape[1])), zlib.compress(np.ascontiguousarray(mask).tobytes(), 1))

    def unpack(self) -> np.ndarray:
        return np.frombuffer(zlib.decompress(self.data), dtype=np.uint8).reshape(self.shape).copy()


@dataclass
class FrameChange:
    """State of one frame before and after a step (mask + keyframe flag)."""

    before: Packed | None
    after: Packed | None
    kf_before: bool
    kf_after: bool


@dataclass
class Step:
    """One undoable action; a propagation run stays `open` while results arrive.

    `objects` holds the object list before and after the step when the step changed it."""

    label: str
    changes: dict[int, FrameChange] = field(default_factory=dict)
    open: bool = False
    objects: tuple[ObjectsState, ObjectsState] | None = None
    memlog: tuple[dict[int, Any], dict[int, Any]] | None = None  # a run's memory-log entries before / after
    on_apply: Callable[[bool], None] | None = None  # effect beyond masks, called with True on undo, False on redo

    def record_objects(self, before: ObjectsState, after: ObjectsState) -> None:
        """Add an object-list change; a second one keeps the first `before`."""
        self.objects = (self.objects[0] if self.objects else before, after)

    def record(self, frame: int, before: np.ndarray | None, after: np.ndarray | None,
               kf_before: bool, kf_after: bool) -> None:
        """Add a frame change; a frame changed twice keeps its first `before`."""
        prev = self.changes.get(frame)
        self.changes[frame] = FrameChange(
            prev.before if prev else Packed.pack(before), Packed.pack(after),
            prev.kf_before if prev else kf_before, kf_after)


class UndoStack:
    """Bounded undo/redo stacks of `Step`s. `changed` fires whenever availability or labels change."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self.changed = Event()

    def push(self, step: Step) -> None:
        self._undo.append(step)
        self._redo.clear()
        del self._undo[: max(0, len(self._undo) - self.limit)]
        self.changed.emit()

    def discard(self, step: Step) -> None:
        """Remove a step that turned out empty (e.g. a cancelled run that produced nothing)."""
        if step in self._undo:
            self._undo.remove(step)
            self.changed.emit()

    def can_undo(self) -> bool:
        return bool(self._undo) and not self._undo[-1].open

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    def pop_undo(self) -> Step | None:
        if not self.can_undo():
            return None
        step = self._undo.pop()
        self._redo.append(step)
        self.changed.emit()
        return step

    def pop_redo(self) -> Step | None:
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        self.changed.emit()
        return step

    def __len__(self) -> int:
        return len(self._undo)
