"""QThread worker that iterates VideoSession.propagate() and emits one signal per frame."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.engine.fallback import is_out_of_memory
from app.engine.plan import Pass
from app.model.memlog import stats_to_dict

# fallback(keyframes) -> (new session, message) or None; called after an out-of-memory error, old session dropped
Fallback = Callable[[dict[int, np.ndarray]], "tuple[Any, str] | None"]


class PropagationWorker(QObject):
    """Runs in its own QThread. The session is built (or reused) by `session_provider` inside the thread.

    Pause waits on a condition variable between frames; cancel sets a flag, calls `session.cancel()` and closes
    the generator, so it stops before the next frame. `queue_edit` hands a corrected keyframe to the session
    between two frames (takes effect when the worker reaches it).
    """

    session_ready = Signal()
    frame_done = Signal(int, object, object, bool)  # frame, mask (H×W uint8), stats dict, is_keyframe
    pass_started = Signal(int, int)  # start frame, direction
    edit_applied = Signal(int)  # frame whose queued edit entered the session
    failed = Signal(object)  # the exception
    fell_back = Signal(str)  # out of memory: the run continues with smaller settings (one-line message)
    finished = Signal(str)  # "done" | "cancelled" | "error"

    def __init__(self, session_provider: Callable[[], Any], plan: list[Pass],
                 sync: dict[int, np.ndarray | None], overwrite_keyframes: bool = False,
                 start_masks: dict[int, np.ndarray] | None = None, fallback: Fallback | None = None) -> None:
        """fallback: on an out-of-memory error, builds a smaller session (given the keyframes) to continue from
        the last emitted frame; without it (or when it returns None) the error fails the run."""
        super().__init__()
        self._fallback = fallback
        self._last: tuple[int, np.ndarray] | None = None  # last frame emitted in the current pass, and its mask
        self._provider = session_provider
        self._plan = plan
        self._sync = sync
        self._overwrite = overwrite_keyframes
        self._start_masks = start_masks or {}
        self._cond = threading.Condition()
        self._paused = False
        self._cancelled = threading.Event()
        self._edits: deque[tuple[int, np.ndarray | None]] = deque()
        self._session: Any = None
        self.position: int | None = None  # last frame emitted (read from the GUI thread)
        self.direction = plan[0].direction if plan else 1

    # ---- control (any thread) ----
    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def cancel(self) -> None:
        self._cancelled.set()
        session = self._session
        if session is not None:
            session.cancel()
        self.resume()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def queue_edit(self, frame: int, mask: np.ndarray | None) -> None:
        """Give the session a new keyframe mask (None: no longer a keyframe) before its next frame."""
        self._edits.append((frame, None if mask is None else mask.copy()))

    # ---- thread body ----
    @Slot()
    def run(self) -> None:
        status = "done"
        try:
            self._session = self._provider()
            self.session_ready.emit()
            if self._cancelled.is_set():
                self._session.cancel()
            for frame, mask in self._sync.items():
                self._apply(frame, mask)
            for p in self._plan:
                if self._cancelled.is_set():
                    break
                self.direction = p.direction
                self.pass_started.emit(p.start, p.direction)
                self._run_pass(p)
            if self._cancelled.is_set():
                status = "cancelled"
        except Exception as exc:  # noqa: BLE001 - reported to the GUI as a dialog
            status = "error"
            self.failed.emit(exc)
        finally:
            self.finished.emit(status)

    def _run_pass(self, p: Pass) -> None:
        """Run one pass; after an out-of-memory error (and a successful fallback) continue it from the last
        emitted frame, whose mask starts the new session's memory, or, when that mask is empty, again from the
        pass's start without emitting the frames already emitted."""
        self._last = None
        first: dict[str, Any] = {}
        if p.start in self._start_masks:
            first["start_mask"] = self._start_masks[p.start]
        start, kwargs, skip = p.start, first, None
        while True:
            keyframes = None
            try:
                self._iterate(p, start, kwargs, skip)
                return
            except Exception as exc:
                if self._fallback is None or not is_out_of_memory(exc):
                    raise
                keyframes = self._keyframes()
                self._session = None  # with the exception gone, the old session's memory can be freed
            retry = self._fallback(keyframes)
            if retry is None:
                raise MemoryError("out of memory even at the smallest processing size on the CPU")
            self._session, message = retry
            self.fell_back.emit(message)
            if self._last is not None:
                skip = self._last[0]
                start, kwargs = (skip, {"start_mask": self._last[1]}) if self._last[1].any() else (p.start, first)

    def _keyframes(self) -> dict[int, np.ndarray]:
        get = getattr(self._session, "keyframe_mask", None)
        frames = getattr(self._session, "keyframes", [])
        return {f: get(f) for f in frames} if get is not None else {}

    def _iterate(self, p: Pass, start: int, kwargs: dict[str, Any], skip: int | None) -> None:
        """Propagate from `start`, emitting each frame after `skip` (frames up to it were emitted before a
        fallback)."""
        gen = self._session.propagate(start, direction=p.direction, stop=p.stop,
                                      stop_at_keyframe=p.stop_at_keyframe,
                                      overwrite_keyframes=self._overwrite, **kwargs)
        try:
            while True:
                self._wait_if_paused()
                if self._cancelled.is_set():
                    return
                self._drain_edits()
                try:
                    res = next(gen)
                except StopIteration:
                    return
                if skip is not None and (res.frame - skip) * p.direction <= 0:
                    continue
                self.position = int(res.frame)
                mask = np.asarray(res.mask, dtype=np.uint8)
                self._last = (self.position, mask)
                self.frame_done.emit(self.position, mask, stats_to_dict(res.stats), bool(res.is_keyframe))
        finally:
            gen.close()

    def _wait_if_paused(self) -> None:
        with self._cond:
            while self._paused and not self._cancelled.is_set():
                self._cond.wait(0.2)

    def _drain_edits(self) -> None:
        while self._edits:
            frame, mask = self._edits.popleft()
            self._apply(frame, mask)
            self.edit_applied.emit(frame)

    def _apply(self, frame: int, mask: np.ndarray | None) -> None:
        if mask is None:
            clear = getattr(self._session, "clear_mask", None)
            if clear is not None:
                clear(frame)
        else:
            self._session.set_mask(frame, mask)
