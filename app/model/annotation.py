"""The annotation document: clip frames, objects, masks, keyframes, undo history and memory log (Qt-free)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.model.history import Step, UndoStack
from app.model.masks import MaskStore
from app.model.memlog import MemoryLog
from app.model.objects import ObjectList
from app.observer import Event


class AnnotationModel:
    """State of one clip being annotated.

    Events: `mask_changed(frame)`, `keyframes_changed()`, `current_changed(frame)`, `range_changed()`.
    Keyframes are frames the user painted or corrected; propagation never overwrites them unless asked.
    """

    def __init__(self, frames: Sequence[np.ndarray] | Any, masks: MaskStore) -> None:
        self.frames = frames
        self.masks = masks
        self.objects = ObjectList()
        self.history = UndoStack()
        self.memlog = MemoryLog()
        self.keyframes: set[int] = set()
        self.current = 0
        self.in_point: int | None = None
        self.out_point: int | None = None
        self.mask_changed = Event()
        self.keyframes_changed = Event()
        self.current_changed = Event()
        self.range_changed = Event()
        self.user_edit = Event()  # (frame) a user edit / undo / redo changed this frame's mask or keyframe flag

    # ---- clip ----
    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def size(self) -> tuple[int, int]:
        return self.masks.size

    def frame_image(self, frame: int) -> np.ndarray:
        return self.frames[frame]

    def set_current(self, frame: int) -> None:
        frame = int(np.clip(frame, 0, max(0, self.n_frames - 1)))
        if frame != self.current:
            self.current = frame
            self.current_changed.emit(frame)

    def set_in_out(self, in_point: int | None, out_point: int | None) -> None:
        if in_point is not None and out_point is not None and in_point > out_point:
            in_point, out_point = out_point, in_point
        self.in_point, self.out_point = in_point, out_point
        self.range_changed.emit()

    # ---- masks ----
    def mask(self, frame: int) -> np.ndarray | None:
        return self.masks.get(frame)

    def is_keyframe(self, frame: int) -> bool:
        return frame in self.keyframes

    def propagated_frames(self) -> list[int]:
        return [f for f in self.masks.frames() if f not in self.keyframes]

    def commit_edit(self, frame: int, mask: np.ndarray, label: str = "Edit", keyframe: bool = True) -> None:
        """Replace the mask of `frame` as one undoable step; the frame becomes a keyframe."""
        before = self.masks.get(frame)
        if before is not None and np.array_equal(before, mask) and (frame in self.keyframes) == keyframe:
            return
        step = Step(label)
        kf_before = frame in self.keyframes
        step.record(frame, before, mask, kf_before, keyframe or kf_before)
        self.masks.set(frame, mask)
        self._set_keyframe(frame, keyframe or kf_before)
        self.history.push(step)
        self.mask_changed.emit(frame)
        self.user_edit.emit(frame)

    def begin_run(self, label: str = "Propagation") -> Step:
        """Open the undo step that collects a propagation run's frames."""
        step = Step(label, open=True)
        self.history.push(step)
        return step

    def record_run_frame(self, step: Step, frame: int, mask: np.ndarray, overwrite_keyframes: bool = False) -> bool:
        """Store one propagated mask; keyframes are kept unless `overwrite_keyframes`. Returns True if stored."""
        is_kf = frame in self.keyframes
        if is_kf and not overwrite_keyframes:
            return False
        before = self.masks.get(frame)
        step.record(frame, before, mask, is_kf, is_kf)
        self.masks.set(frame, mask)
        self.mask_changed.emit(frame)
        return True

    def end_run(self, step: Step) -> None:
        step.open = False
        if not step.changes:
            self.history.discard(step)
        else:
            self.history.changed.emit()

    def undo(self) -> Step | None:
        step = self.history.pop_undo()
        if step is not None:
            self._apply(step, before=True)
        return step

    def redo(self) -> Step | None:
        step = self.history.pop_redo()
        if step is not None:
            self._apply(step, before=False)
        return step

    def _apply(self, step: Step, before: bool) -> None:
        kf_changed = False
        for frame, ch in step.changes.items():
            packed = ch.before if before else ch.after
            self.masks.set(frame, packed.unpack() if packed is not None else None)
            kf = ch.kf_before if before else ch.kf_after
            kf_changed |= (frame in self.keyframes) != kf
            self._set_keyframe(frame, kf, emit=False)
            self.mask_changed.emit(frame)
            self.user_edit.emit(frame)
        if kf_changed:
            self.keyframes_changed.emit()
        if step.on_apply is not None:
            step.on_apply(before)

    def set_keyframe(self, frame: int, on: bool) -> None:
        """Mark / unmark a frame as keyframe (unmarking lets propagation overwrite it)."""
        self._set_keyframe(frame, on)

    def _set_keyframe(self, frame: int, on: bool, emit: bool = True) -> None:
        if on == (frame in self.keyframes):
            return
        if on:
            self.keyframes.add(frame)
        else:
            self.keyframes.discard(frame)
        if emit:
            self.keyframes_changed.emit()

    def remove_object_everywhere(self, obj_id: int) -> Step:
        """Erase `obj_id` from every mask as one undoable step (the object itself is removed by the caller)."""
        step = Step(f"Delete object {obj_id}")
        for frame in self.masks.frames():
            m = self.masks.get(frame)
            if m is None or not (m == obj_id).any():
                continue
            new = m.copy()
            new[new == obj_id] = 0
            kf = frame in self.keyframes
            step.record(frame, m, new, kf, kf)
            self.masks.set(frame, new)
            self.mask_changed.emit(frame)
        if step.changes:
            self.history.push(step)
        return step

    def next_keyframe(self, frame: int, direction: int) -> int | None:
        """Nearest keyframe strictly after (direction>0) or before `frame`."""
        ks = [k for k in self.keyframes if (k > frame if direction > 0 else k < frame)]
        if not ks:
            return None
        return min(ks) if direction > 0 else max(ks)
