"""What the window shows while a propagation runs: it follows the run, the pause button shows its state, and the
readouts of a finished run are cleared."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from app.engine.controller import PropagationController
from app.model.annotation import AnnotationModel
from app.ui.status import StatusBar


class RunFeedback(QObject):
    """Connects one controller to the window's actions, status bar and model for the length of a project.

    Follow the run (the `follow` action, on by default): each finished frame becomes the current frame as it lands.
    Moving to another frame by hand during a run stops following (the action is unticked; tick it to follow again;
    the next run follows again unless the user unticked it himself).
    """

    def __init__(self, controller: PropagationController, model: AnnotationModel, status: StatusBar,
                 follow: QAction, pause: QAction, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller, self.model, self.status = controller, model, status
        self.follow, self.pause = follow, pause
        self._moving = False  # True while the run itself moves the current frame
        self._auto_off = False  # following was stopped by moving by hand (a new run follows again)
        controller.frame_processed.connect(self._on_frame)
        controller.running_changed.connect(self._on_running)
        controller.paused_changed.connect(self._on_paused)
        model.current_changed.connect(self._on_current)
        follow.toggled.connect(self._on_follow_toggled)

    def dispose(self) -> None:
        self.model.current_changed.disconnect(self._on_current)

    def _on_frame(self, frame: int) -> None:
        if self.follow.isChecked() and self.controller.running:
            self._moving = True
            try:
                self.model.set_current(frame)
            finally:
                self._moving = False

    def _on_current(self, _frame: int) -> None:
        if self.controller.running and not self._moving and self.follow.isChecked():
            self.follow.setChecked(False)
            self._auto_off = True
            self.status.showMessage("Stopped following the run while you look around (Propagate ▸ Follow the run "
                                    "to follow it again).", 6000)

    def _on_follow_toggled(self, on: bool) -> None:
        self._auto_off = False
        last = self.controller.worker.position if (on and self.controller.worker) else None
        if last is not None:
            self._on_frame(last)

    def _on_running(self, running: bool) -> None:
        if running and self._auto_off:
            self.follow.setChecked(True)
        elif not running:
            self.status.clear_run_readouts()

    def _on_paused(self, paused: bool) -> None:
        self.pause.blockSignals(True)
        self.pause.setChecked(paused)
        self.pause.blockSignals(False)
        self.pause.setText("&Resume propagation" if paused else "&Pause propagation")
        self.pause.setToolTip("Resume the paused propagation (P)" if paused else "Pause the running propagation (P)")
