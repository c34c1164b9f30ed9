"""The annotation document: clip frames, objects, masks, keyframes, undo history and memory log (Qt-free)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.model.history import Step, UndoStack
from app.model.masks import MaskStore
from app.model.memlog import MemoryLog
from app.model.objects import ObjectInfo, ObjectList, ObjectsState
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
        """Set both points (None: clip start / end); an in point after the out point is refused, never swapped."""
        if in_point is not None and out_point is not None and in_point > out_point:
            raise ValueError(f"in point {in_point} is after out point {out_point}")
        self.in_point, self.out_point = in_point, out_point
        self.range_changed.emit()

    def set_in(self, frame: int) -> str:
        """Move the in point to `frame`; an out point before it is cleared (the range then runs to the clip's end).
        Returns what happened, in words, for the status bar."""
        if self.out_point is not None and frame > self.out_point:
            old = self.out_point
            self.set_in_out(frame, None)
            return f"In point {frame}: the out point {old} was before it and is cleared (range {frame} – end)."
        self.set_in_out(frame, self.out_point)
        return f"In point {frame}."

    def set_out(self, frame: int) -> str:
        """Move the out point to `frame`; an in point after it is cleared (the range then starts at frame 0)."""
        if self.in_point is not None and frame < self.in_point:
            old = self.in_point
            self.set_in_out(None, frame)
            return f"Out point {frame}: the in point {old} was after it and is cleared (range 0 – {frame})."
        self.set_in_out(self.in_point, frame)
        return f"Out point {frame}."

    # ---- masks ----
    def mask(self, frame: int) -> np.ndarray | None:
        return self.masks.get(frame)

    def is_keyframe(self, frame: int) -> bool:
        return frame in self.keyframes

    def propagated_frames(self) -> list[int]:
        return [f for f in self.masks.frames() if f not in self.keyframes]

    def commit_edit(self, frame: int, mask: np.ndarray, label: str = "Edit", keyframe: bool = True,
                    objects_before: ObjectsState | None = None) -> None:
        """Replace the mask of `frame` as one undoable step; the frame becomes a keyframe.

        `objects_before`: the object list before the caller added objects for this mask (mask import), so that
        one undo removes both."""
        before = self.masks.get(frame)
        if before is not None and np.array_equal(before, mask) and (frame in self.keyframes) == keyframe:
            return
        step = Step(label)
        if objects_before is not None and objects_before != self.objects.snapshot():
            step.record_objects(objects_before, self.objects.snapshot())
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
        if step.objects is not None:
            self.objects.restore(step.objects[0] if before else step.objects[1])
        if step.memlog is not None:  # the memory lanes show the memory as it was before / after the run
            self.memlog.put(step.memlog[0] if before else step.memlog[1])
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

    # ---- objects (each edit one undoable step) ----
    def add_object(self, name: str | None = None, obj_id: int | None = None) -> ObjectInfo:
        """Add and select an object (lowest free id unless given)."""
        before = self.objects.snapshot()
        obj = self.objects.add(name, obj_id)
        self._push_objects(f"Add {obj.name}", before)
        return obj

    def rename_object(self, obj_id: int, name: str) -> None:
        old = self.objects.get(obj_id)
        if old is None or not name.strip() or name.strip() == old.name:
            return
        old_name = old.name
        before = self.objects.snapshot()
        self.objects.rename(obj_id, name)
        self._push_objects(f"Rename {old_name} to {name.strip()}", before)

    def set_object_color(self, obj_id: int, rgb: tuple[int, int, int] | None) -> None:
        """Choose an object's display colour (None: its palette colour)."""
        o = self.objects.get(obj_id)
        if o is None:
            return
        before = self.objects.snapshot()
        self.objects.set_color(obj_id, rgb)
        if self.objects.snapshot() != before:
            self._push_objects(f"Colour of {o.name}", before)

    def delete_object(self, obj_id: int) -> Step:
        """Remove the object and erase it from every mask, as one undoable step (undo brings both back)."""
        o = self.objects.get(obj_id)
        before = self.objects.snapshot()
        step = Step(f"Delete {o.name if o else f'object {obj_id}'}")
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
        if o is not None:
            self.objects.remove(obj_id)
            step.record_objects(before, self.objects.snapshot())
        if step.changes or step.objects:
            self.history.push(step)
        return step

    def _push_objects(self, label: str, before: ObjectsState) -> None:
        step = Step(label)
        step.record_objects(before, self.objects.snapshot())
        self.history.push(step)

    def next_keyframe(self, frame: int, direction: int) -> int | None:
        """Nearest keyframe strictly after (direction>0) or before `frame`."""
        ks = [k for k in self.keyframes if (k > frame if direction > 0 else k < frame)]
        if not ks:
            return None
        return min(ks) if direction > 0 else max(ks)
