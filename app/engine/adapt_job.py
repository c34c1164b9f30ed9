"""Learn from keyframes: per-clip adaptation in a worker thread, its undo step, and the weights saved with the project.

`Learner` (GUI thread) starts an `AdaptWorker` (its own QThread, like propagation), reports progress, pushes an
undo step whose undo/redo hand the previous/new weights to `ClipWeights`, and marks the timeline. `ClipWeights`
holds the weights the session should run; `SessionFactory.session()` applies them in the worker thread before each
run (memory is reset and the engine logs an "adapt" event), and keeps `adapted.pth` in the workspace in step.
Torch and the training package are imported only inside the worker thread.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.errors import describe
from app.model.history import Step

FILE_NAME = "adapted.pth"  # clip-specific weights inside the workspace folder


class ClipWeights:
    """The clip-specific network the session should run (None: the base weights) and its file in the workspace.

    `want` may be called from any thread; `apply` and `adopt` run in the worker thread (they touch the session
    and the file). Weights adapted from another base file are ignored.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._want: Any = None
        self._base: str | None = None  # base weights key the wanted network was adapted from
        self._loaded = False

    def want(self, net: Any) -> None:
        """Ask for `net` (None: the base weights) from the next run on (undo/redo)."""
        with self._lock:
            self._want = net

    def adopt(self, net: Any, base: str, meta: dict[str, Any]) -> None:
        """The session now runs `net` (just adapted): remember it and save it with the project."""
        with self._lock:
            self._want, self._base, self._loaded = net, base, True
        from training.adapt import save_adapted

        save_adapted(net, self.path, {"base": base, **meta})

    def apply(self, session: Any, base: str) -> None:
        """Make `session` run the wanted weights (loading the project's file the first time)."""
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._want, self._base = self._load(base)
            if self._base != base:  # the base weights file changed: the adaptation no longer applies
                self._want, self._base = None, base
            want = self._want
        if session.adapted_network is not want:
            session.set_network(want, {"by": "restore" if want is not None else "undo"})
            self._persist(want, base)

    def _load(self, base: str) -> tuple[Any, str | None]:
        if not self.path.is_file():
            return None, base
        import torch

        from xmem_core.model.checkpoint import load_model, unwrap

        _, _, meta = unwrap(torch.load(self.path, map_location="cpu", weights_only=True))
        if meta.get("base") != base:
            return None, base
        return load_model(self.path), base

    def _persist(self, net: Any, base: str) -> None:
        if net is None:
            self.path.unlink(missing_ok=True)
        else:
            from training.adapt import save_adapted

            save_adapted(net, self.path, {"base": base})


class AdaptWorker(QObject):
    """Runs in its own QThread: gets the session, gives it the keyframes, adapts it (training.adapt)."""

    progress = Signal(int, float, float, float)  # step, seconds, budget, loss
    adapted = Signal(object, object, dict)  # new network, previous network (None = base), summary
    failed = Signal(object)
    finished = Signal(str)  # "done" | "cancelled" | "error"

    def __init__(self, factory: Any, settings: Any, keyframes: dict[int, np.ndarray], budget_s: float) -> None:
        super().__init__()
        self._factory, self._settings = factory, settings
        self._keyframes = keyframes
        self._budget = budget_s
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        status = "done"
        try:
            from training.adapt import AdaptConfig, adapt_session, processing_size

            session = self._factory.session(self._settings)
            for f in [f for f in session.keyframes if f not in self._keyframes]:
                session.clear_mask(f)
            for f, mask in self._keyframes.items():
                session.set_mask(f, mask)
            previous = session.adapted_network
            cfg = AdaptConfig(budget_s=self._budget, size=processing_size(session))
            result = adapt_session(session, cfg=cfg, cancel=self._cancel,
                                   progress=lambda p: self.progress.emit(p.step, p.seconds, p.budget_s, p.loss))
            if result.cancelled:
                status = "cancelled"
            else:
                summary = {"keyframes": sorted(self._keyframes), **result.summary()}
                self._factory.clip_weights.adopt(result.net, self._factory.base_key, summary)
                self.adapted.emit(result.net, previous, summary)
        except Exception as exc:  # noqa: BLE001 - shown as a dialog
            status = "error"
            self.failed.emit(exc)
        finally:
            self.finished.emit(status)


class Learner(QObject):
    """GUI side of "Learn from keyframes". Signals: running_changed(bool), progress(step, seconds, budget, loss),
    status(str), error(title, text)."""

    running_changed = Signal(bool)
    progress = Signal(int, float, float, float)
    status = Signal(str)
    error = Signal(str, str)

    def __init__(self, controller: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.project = controller.project
        self.factory = controller.factory
        self.factory.clip_weights = ClipWeights(Path(self.project.workspace.root) / FILE_NAME)
        self._worker: AdaptWorker | None = None
        self._thread: QThread | None = None
        # finished workers keep their Python reference until their thread has ended: dropping it earlier (in
        # _on_finished, queued from the worker thread) deleted the C++ worker while its thread was still returning
        # from run(), a use-after-free that crashed the app (and the suite) at a later, random Qt call
        self._retired: list[tuple[AdaptWorker, QThread]] = []

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self, budget_s: float) -> bool:
        """Adapt to the current keyframes within `budget_s` seconds; False (with a status message) if it can't."""
        m = self.project.model
        if self.running or self.controller.running:
            self.status.emit("Wait for the running job to finish, or cancel it (Esc), before learning.")
            return False
        keyframes = {f: m.masks.get(f).copy() for f in sorted(m.keyframes) if f in m.masks and m.masks.get(f).any()}
        if not keyframes:
            self.status.emit("Paint a keyframe first: the model learns from your keyframes.")
            return False
        worker = AdaptWorker(self.factory, self.project.settings, keyframes, budget_s)
        thread = QThread(self)
        thread.setObjectName("xmem-adapt")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.adapted.connect(self._on_adapted)
        worker.failed.connect(lambda exc: self.error.emit(*describe(exc, "learning from keyframes")))
        worker.finished.connect(self._on_finished)
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        # no worker.deleteLater: deleting the Python-made worker in its own thread as it ends needs the GIL while Qt
        # holds the thread's locks (a deadlock with the GUI thread); _reap releases it here once the thread is done
        thread.finished.connect(self._reap)  # queued to this (GUI) thread, before the thread's own deleteLater
        thread.finished.connect(thread.deleteLater)
        self._worker, self._thread = worker, thread
        self.running_changed.emit(True)
        self.status.emit(f"Learning from keyframes {sorted(keyframes)} for up to {budget_s:g} s…")
        thread.start()
        return True

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.status.emit("Cancelling learning…")

    def wait(self, timeout_ms: int = 10000) -> None:
        """Cancel and wait for the thread (window closing)."""
        thread = self._thread
        self.cancel()
        if thread is not None:
            thread.wait(timeout_ms)

    def _on_adapted(self, net: Any, previous: Any, summary: dict) -> None:
        m = self.project.model
        weights = self.factory.clip_weights
        step = Step("Learn from keyframes")
        step.on_apply = lambda before: weights.want(previous if before else net)
        m.history.push(step)
        m.memlog.add_event(m.current, "adapt", summary)
        self.status.emit(f"Learned from keyframes {summary['keyframes']} in {summary['seconds']:.0f} s "
                         f"({summary['steps']} steps): memory reset, propagate again to use the new weights.")

    def _reap(self) -> None:
        """A worker thread has ended: release the workers whose thread is done (deleted here, in the GUI thread)."""
        self._retired = [(w, t) for w, t in self._retired if not t.isFinished()]

    def _on_finished(self, status: str) -> None:
        if self._worker is not None and self._thread is not None:
            self._retired.append((self._worker, self._thread))
        self._worker, self._thread = None, None
        if status == "cancelled":
            self.status.emit("Learning cancelled: the previous weights stay.")
        self.running_changed.emit(False)
