"""PropagationController: owns the engine session, turns requests into worker runs, feeds results to the model."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from app.engine.factory import SessionFactory
from app.engine.fallback import degrade, device_label
from app.engine.plan import Mode, Pass, PlanError, make_plan
from app.engine.protect import merge_run_mask, written_ids
from app.engine.worker import PropagationWorker
from app.errors import describe, describe_write_failure
from app.model.history import Step
from app.project import Project


class PropagationController(QObject):
    """The only object that talks to the engine.

    Signals: running_changed(bool), paused_changed(bool), progress(done, total, fps, eta_s), status(str),
    error(title, text), run_finished(str status), queued_changed(list of frames waiting for the worker).
    """

    running_changed = Signal(bool)
    paused_changed = Signal(bool)
    progress = Signal(int, int, float, float)
    status = Signal(str)
    error = Signal(str, str)
    run_finished = Signal(str)
    queued_changed = Signal(list)
    frame_processed = Signal(int)
    write_failed = Signal(str, str)  # workspace folder, cause: the run stopped, unsaved masks stay in memory
    device_changed = Signal(str)  # where the running session computes ("CPU", "CUDA · <GPU>")
    settings_fell_back = Signal(object)  # EngineSettings after an out-of-memory fallback (size or device)

    def __init__(self, project: Project, session_provider: Callable[[], Any] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.model = project.model
        self.factory = SessionFactory(project.clip_path)
        self._provider_override = session_provider
        self._synced: dict[int, int] = {}  # keyframe -> mask version the session has
        self._thread: QThread | None = None
        self._old_threads: list[QThread] = []
        self._worker: PropagationWorker | None = None
        self._step: Step | None = None
        self._plan: list[Pass] = []
        self._starts: set[int] = set()
        self._done = 0
        self._total = 0
        self._times: deque[float] = deque(maxlen=20)
        self._queued: list[int] = []
        self._later: set[int] = set()
        self.last_status = ""
        self.selected_only = False  # propagate only the selected object (others keep their masks)
        self._write: set[int] | None = None  # objects the running run writes (None: all)
        self._write_error = False
        self.model.user_edit.connect(self._on_user_edit)
        self.model.masks.write_failed.connect(self._on_write_failed)
        self.model.masks.damaged.connect(lambda _frame, message: self.status.emit(message))

    # ---- state ----
    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def paused(self) -> bool:
        return self._worker is not None and self._worker.paused

    @property
    def worker(self) -> PropagationWorker | None:
        return self._worker

    # ---- requests ----
    def propagate(self, mode: Mode | str) -> bool:
        """Start a run; returns False (after emitting `error`) if it cannot start."""
        if self.running:
            self.status.emit("A propagation is already running: pause or cancel it first.")
            return False
        if not self._save_unsaved():
            return False
        m = self.model
        settings = self.project.settings
        try:
            settings.memory_config()
            plan = make_plan(Mode(mode), m.current, m.n_frames, set(m.masks.frames()), set(m.keyframes),
                             m.in_point, m.out_point)
        except (PlanError, ValueError) as exc:
            self.error.emit(*describe(exc))
            return False
        if not plan:
            self.status.emit("Nothing to propagate in that direction.")
            return False
        write = written_ids(m.objects.ids(), m.objects.locked_ids(), m.objects.selected, self.selected_only)
        if not write:
            self.error.emit("Nothing to propagate", "Every object this run may write is locked (or none is "
                            "selected): unlock an object in the Objects panel or select one.")
            return False
        self._write = None if write == set(m.objects.ids()) else write
        if self._provider_override is None and self.factory.needs_new_session(settings):
            self._synced.clear()
        sync = self._sync_payload()
        start_masks = {p.start: m.masks.get(p.start).copy() for p in plan
                       if p.start not in m.keyframes and p.start in m.masks}
        provider = self._provider_override or (lambda: self.factory.session(settings))
        fallback = self._make_fallback(settings) if self._provider_override is None else None
        worker = PropagationWorker(provider, plan, sync, settings.overwrite_keyframes, start_masks, fallback)
        thread = QThread(self)
        thread.setObjectName("xmem-propagation")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.frame_done.connect(self._on_frame)
        worker.edit_applied.connect(self._on_edit_applied)
        worker.failed.connect(self._on_failed)
        worker.fell_back.connect(self._on_fell_back)
        worker.session_ready.connect(lambda: self.device_changed.emit(device_label(worker._session)))
        worker.finished.connect(self._on_finished)
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)  # quit() is thread-safe
        thread.finished.connect(worker.deleteLater)
        thread.finished.connect(self._reap_threads)
        self._worker, self._thread, self._plan = worker, thread, plan
        self._starts = {p.start for p in plan}
        kf = set(m.keyframes)
        self._total = sum(p.length(m.n_frames, kf) for p in plan)
        self._done = 0
        self._write_error = False
        self._times.clear()
        self._later.clear()
        self._step = m.begin_run(f"Propagate {Mode(mode).value.replace('_', ' ')}")
        self.running_changed.emit(True)
        self.status.emit(f"Propagating {Mode(mode).value.replace('_', ' ')} from frame {plan[0].start}…")
        thread.start()
        return True

    def _sync_payload(self) -> dict[int, np.ndarray | None]:
        """Keyframes whose mask the session does not have yet (None: no longer a keyframe)."""
        m = self.model
        payload: dict[int, np.ndarray | None] = {}
        for f in sorted(m.keyframes):
            v = m.masks.version(f)
            if self._synced.get(f) != v and f in m.masks:
                payload[f] = m.masks.get(f).copy()
                self._synced[f] = v
        for f in [f for f in self._synced if f not in m.keyframes]:
            payload[f] = None
            del self._synced[f]
        return payload

    def pause(self) -> None:
        if self._worker and not self._worker.paused:
            self._worker.pause()
            self.paused_changed.emit(True)
            self.status.emit("Paused: scrub and correct frames, then resume.")

    def resume(self) -> None:
        if self._worker and self._worker.paused:
            self._worker.resume()
            self.paused_changed.emit(False)

    def toggle_pause(self) -> None:
        if self.paused:
            self.resume()
        else:
            self.pause()

    def cancel(self) -> None:
        if self._worker:
            self._worker.cancel()
            self.status.emit("Cancelling…")

    def reset_memory(self) -> None:
        """Forget everything in memory; keyframes stay and are fed again by the next run."""
        if self.running:
            self.status.emit("Cancel the running propagation before resetting memory.")
            return
        self.factory.request_reset()
        self.model.memlog.add_reset(self.model.current)
        self.status.emit("Memory reset: the next propagation starts from an empty memory.")

    def settings_changed(self) -> None:
        """Engine settings were edited: the next run builds a fresh session (memory starts empty)."""
        if self.factory.needs_new_session(self.project.settings):
            self._synced.clear()
        self.project.save()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel and wait for the worker (window closing)."""
        if self._worker:
            self._worker.cancel()
        for thread in [t for t in (self._thread, *self._old_threads) if t is not None]:
            thread.quit()
            thread.wait(timeout_ms)
        self._old_threads.clear()
        self.factory.close()

    def _reap_threads(self) -> None:
        """Delete QThreads whose event loop has ended (never while they run)."""
        for t in [t for t in self._old_threads if t.isFinished()]:
            self._old_threads.remove(t)
            t.deleteLater()

    # ---- worker results (GUI thread) ----
    def _on_frame(self, frame: int, mask: np.ndarray, stats: dict, is_keyframe: bool) -> None:
        m = self.model
        m.memlog.record(stats, frame)
        if self._step is not None and frame not in self._starts and not (is_keyframe and m.is_keyframe(frame)):
            if self._write is not None:  # locked / unselected objects keep their pixels
                mask = merge_run_mask(m.masks.get(frame), mask, self._write)
            m.record_run_frame(self._step, frame, mask, self.project.settings.overwrite_keyframes)
        self._done += 1
        now = time.perf_counter()
        self._times.append(now)
        fps = (len(self._times) - 1) / (self._times[-1] - self._times[0]) if len(self._times) > 1 else 0.0
        remaining = max(0, self._total - self._done)
        eta = remaining / fps if fps > 0 else float("nan")
        self.progress.emit(self._done, self._total, fps, eta)
        self.frame_processed.emit(frame)

    def _make_fallback(self, settings: Any) -> Callable[[dict[int, np.ndarray]], tuple[Any, str] | None]:
        """For the worker thread: after an out-of-memory error, a session with smaller settings (`degrade`)
        holding the same keyframes; the settings are kept for the GUI thread (`settings_fell_back`)."""
        state = {"settings": settings}

        def fallback(keyframes: dict[int, np.ndarray]) -> tuple[Any, str] | None:
            step = degrade(state["settings"])
            if step is None:
                return None
            state["settings"], message = step
            self.factory.invalidate()
            _release_device_memory()
            session = self.factory.session(state["settings"])
            for frame, mask in keyframes.items():
                if mask is not None:
                    session.set_mask(frame, mask)
            self._fallback_settings = state["settings"]
            return session, message

        return fallback

    def _on_fell_back(self, message: str) -> None:
        self.status.emit(message)
        settings = getattr(self, "_fallback_settings", None)
        if settings is not None:
            self.settings_fell_back.emit(settings)
            worker = self._worker
            self.device_changed.emit(device_label(worker._session if worker is not None else None))

    def _on_edit_applied(self, frame: int) -> None:
        if frame in self._queued:
            self._queued.remove(frame)
            self.queued_changed.emit(list(self._queued))

    def _on_failed(self, exc: BaseException) -> None:
        self.error.emit(*describe(exc, "propagating"))

    def _on_finished(self, status: str) -> None:
        if self._step is not None:
            self.model.end_run(self._step)
        self._step = None
        try:
            self.project.save_memlog()
        except OSError as exc:
            self.error.emit(*describe(exc, "saving the memory log"))
        if self._queued:
            self._queued.clear()
            self.queued_changed.emit([])
        self._worker = None
        if self._thread is not None:
            self._old_threads.append(self._thread)
        self._thread = None
        words = {"done": "Propagation finished", "cancelled": "Propagation cancelled", "error": "Propagation failed"}
        msg = f"{words.get(status, status)}: {self._done} frames."
        if self._later:
            msg += f" Corrections on frames {sorted(self._later)} are used by the next run."
        if self._write_error:
            status = "error"
            msg = (f"Propagation stopped: masks could not be saved to {self.model.masks.folder}; "
                   f"{len(self.model.masks.unsaved_frames())} kept in memory.")
        self.last_status = status
        self.status.emit(msg)
        self.running_changed.emit(False)
        self.paused_changed.emit(False)
        self.run_finished.emit(status)

    # ---- write failures (GUI thread) ----
    def _on_write_failed(self, folder: object, exc: OSError) -> None:
        """A mask could not be written: stop the run, keep results in memory, say where and why (once)."""
        stopped = self.running
        if stopped:
            self._write_error = True
            self._worker.cancel()
        self.write_failed.emit(str(folder), exc.strerror or str(exc))
        text = describe_write_failure(folder, exc, len(self.model.masks.unsaved_frames()), stopped)
        QTimer.singleShot(0, lambda: self.error.emit(*text))  # after this slot: no modal loop inside _on_frame

    def _save_unsaved(self) -> bool:
        """Before a run, write masks an earlier failure kept in memory; False (after a dialog) if still failing."""
        masks = self.model.masks
        if masks.flush():
            return True
        exc = masks.last_error or OSError("the masks cannot be written")
        self.error.emit(*describe_write_failure(masks.folder, exc, len(masks.unsaved_frames()), False))
        return False

    # ---- user edits while running ----
    def _on_user_edit(self, frame: int) -> None:
        w = self._worker
        if w is None:
            return
        m = self.model
        pos = w.position if w.position is not None else (self._plan[0].start if self._plan else 0)
        ahead = (frame - pos) * w.direction > 0
        if not ahead:
            self._later.add(frame)
            self.status.emit(f"Frame {frame} corrected behind the worker: it will be used by the next run.")
            return
        mask = m.masks.get(frame).copy() if (m.is_keyframe(frame) and frame in m.masks) else None
        w.queue_edit(frame, mask)
        if mask is None:
            self._synced.pop(frame, None)
        else:
            self._synced[frame] = m.masks.version(frame)
        if frame not in self._queued:
            self._queued.append(frame)
        self.queued_changed.emit(list(self._queued))
        self.status.emit(f"Correction on frame {frame} queued: it takes effect when the worker gets there.")


def _release_device_memory() -> None:
    """Return cached CUDA blocks after a session was dropped (no-op without CUDA)."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
