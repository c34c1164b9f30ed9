"""Status bar: messages, propagation progress, frames/s and ETA, queued corrections, cursor and zoom."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from app.ui.elided import ElidedLabel


def fmt_eta(seconds: float) -> str:
    if math.isnan(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # readouts whose text changes are elided labels: they never widen the status bar (or the window)
        self.cursor = ElidedLabel(26)
        self.queued = ElidedLabel(24)
        self.queued.setStyleSheet("color:#ffd60a")
        self.rate = ElidedLabel(28)
        self.rate.setToolTip("Propagation speed and estimated time left")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(180)
        self.bar.setTextVisible(True)
        self.bar.hide()
        self.zoom = QLabel()
        self.device = QLabel()
        self.device.setToolTip("Where the network runs (the Memory panel's Device)")
        for w in (self.cursor, self.queued, self.device, self.rate, self.bar, self.zoom):
            self.addPermanentWidget(w)

    def set_progress(self, done: int, total: int, fps: float, eta: float) -> None:
        self.bar.show()
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(min(done, total))
        self.bar.setFormat(f"{done}/{total}")
        self.rate.setText(f"{fps:.1f} frames/s · ETA {fmt_eta(eta)}")

    def set_device(self, label: str) -> None:
        self.device.setText(label)

    def set_learning(self, step: int, seconds: float, budget: float, loss: float) -> None:
        """Progress of "Learn from keyframes": elapsed time against the budget, steps and training loss."""
        self.bar.show()
        self.bar.setRange(0, max(1, round(budget)))
        self.bar.setValue(min(round(seconds), round(budget)))
        self.bar.setFormat(f"learning {seconds:.0f}/{budget:.0f} s")
        self.rate.setText(f"step {step} · loss {loss:.3f} · Esc cancels")

    def set_running(self, running: bool) -> None:
        if not running:
            self.clear_run_readouts()

    def clear_run_readouts(self) -> None:
        """A run ended: its progress, frames/s and ETA are no longer true."""
        self.bar.hide()
        self.bar.reset()
        self.rate.setText("")

    def set_queued(self, frames: list) -> None:
        self.queued.setText(f"queued corrections: {', '.join(map(str, frames))}" if frames else "")

    def set_zoom(self, scale: float) -> None:
        self.zoom.setText(f"{scale * 100:.0f}%")
