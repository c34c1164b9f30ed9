"""Frame slider, frame number, play/pause and in/out display (under the timeline, aligned with it)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget

from app.model.annotation import AnnotationModel


class Transport(QWidget):
    """Emits nothing to the engine: it moves `model.current` and toggles playback."""

    playing_changed = Signal(bool)

    def __init__(self, model: AnnotationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Frame (←/→ one frame, Shift+←/→ ten, Home/End)")
        self.slider.setRange(0, max(0, model.n_frames - 1))
        self.slider.valueChanged.connect(model.set_current)
        self._slider_row = QHBoxLayout()
        self._slider_row.setContentsMargins(0, 0, 0, 0)
        self._slider_row.addWidget(self.slider)
        outer.addLayout(self._slider_row)
        row = QHBoxLayout()
        row.setContentsMargins(6, 0, 6, 0)
        self.play_btn = QToolButton()
        self.play_btn.setCheckable(True)
        self.play_btn.setText("▶")
        self.play_btn.setToolTip("Play / pause (Space)")
        self.play_btn.toggled.connect(self.set_playing)
        row.addWidget(self.play_btn)
        self.spin = QSpinBox()
        self.spin.setRange(0, max(0, model.n_frames - 1))
        self.spin.setToolTip("Current frame (source frame number)")
        self.spin.valueChanged.connect(model.set_current)
        row.addWidget(QLabel("Frame"))
        row.addWidget(self.spin)
        self.total = QLabel(f"/ {max(0, model.n_frames - 1)}")
        row.addWidget(self.total)
        self.kind = QLabel()
        row.addWidget(self.kind)
        row.addStretch(1)
        self.range_label = QLabel()
        self.range_label.setToolTip("In/out range for 'Propagate in range' ([ and ] set it)")
        row.addWidget(self.range_label)
        outer.addLayout(row)
        self._timer = QTimer(self)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self._tick)
        model.current_changed.connect(self._on_current)
        model.keyframes_changed.connect(lambda: self._on_current(model.current))
        model.mask_changed.connect(lambda f: f == model.current and self._on_current(f))
        model.range_changed.connect(self._on_range)
        self._on_current(model.current)
        self._on_range()

    def set_margins(self, left: int, right: int) -> None:
        """Align the slider groove with the timeline's frame axis."""
        self._slider_row.setContentsMargins(max(0, left - 6), 0, max(0, right - 6), 0)

    def _on_current(self, frame: int) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setValue(frame)
            w.blockSignals(False)
        m = self.model
        if m.is_keyframe(frame):
            self.kind.setText("<span style='color:#ffd60a'>◆ keyframe</span>")
        elif frame in m.masks:
            self.kind.setText("<span style='color:#2ec4a0'>propagated</span>")
        else:
            self.kind.setText("<span style='color:#888'>no mask</span>")

    def _on_range(self) -> None:
        m = self.model
        if m.in_point is None and m.out_point is None:
            self.range_label.setText("in/out: whole clip")
        else:
            lo = m.in_point if m.in_point is not None else 0
            hi = m.out_point if m.out_point is not None else m.n_frames - 1
            self.range_label.setText(f"in {lo} · out {hi}")

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_playing(self, on: bool) -> None:
        if on == self.playing:
            return
        if on:
            if self.model.current >= self.model.n_frames - 1:
                self.model.set_current(0)
            self._timer.start()
        else:
            self._timer.stop()
        self.play_btn.blockSignals(True)
        self.play_btn.setChecked(on)
        self.play_btn.setText("⏸" if on else "▶")
        self.play_btn.blockSignals(False)
        self.playing_changed.emit(on)

    def toggle(self) -> None:
        self.set_playing(not self.playing)

    def _tick(self) -> None:
        m = self.model
        if m.current >= m.n_frames - 1:
            self.set_playing(False)
        else:
            m.set_current(m.current + 1)
