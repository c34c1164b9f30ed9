"""Run a plain function in a QThread with progress and cancel (used for export)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot


class TaskWorker(QObject):
    """Calls `fn(progress, cancelled)`; `progress(done, total)` and `cancelled() -> bool` are thread-safe."""

    progress = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[[Callable[[int, int], None], Callable[[], bool]], Any]) -> None:
        super().__init__()
        self._fn = fn
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(self.progress.emit, self._cancel.is_set)
            self.succeeded.emit(result)
        except Exception as exc:  # noqa: BLE001 - shown as a dialog
            self.failed.emit(exc)
        finally:
            self.finished.emit()


def start_task(parent: QObject, worker: TaskWorker) -> QThread:
    """Move `worker` to a new thread, start it, and clean both up when done."""
    thread = QThread(parent)
    # the thread object holds the worker's Python reference: a caller that drops its own when the result arrives
    # (queued from the worker thread) would otherwise delete the worker while its thread is still leaving run()
    thread.worker = worker
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)  # quit() is thread-safe
    thread.finished.connect(thread.deleteLater)  # and with it (GUI thread) the worker: see `thread.worker` above
    thread.start()
    return thread
