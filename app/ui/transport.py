"""Frame slider, frame number with timecode, play/pause and in/out display (under the timeline, aligned with it)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QStyle, QToolButton, QVBoxLayout, QWidget

from app.model.annotation import AnnotationModel
from app.timecode import Timecode


class FrameSpinBox(QSpinBox):
    """Frame number box that also accepts a timecode (01:00:10:05) when the clip has one."""

    def __init__(self, timecode: Timecode | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timecode = timecode
        self.setKeyboardTracking(False)  # seek on Enter, not on every digit of a timecode being typed

    def _parse(self, text: str) -> int | None:
        text = text.strip()
        if self.timecode is not None:
            return self.timecode.parse(text)
        return int(text) if text.isdigit() else None

    def validate(self, text: str, pos: int) -> object:  # noqa: D102 - Qt override
        f = self._parse(text)
        if f is not None and self.minimum() <= f <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        ok = all(c.isdigit() or c in ":;." for c in text.strip())
        return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos

    def valueFromText(self, text: str) -> int:  # noqa: N802 - Qt override
        f = self._parse(text)
        return self.value() if f is None else f


class Transport(QWidget):
    """Emits nothing to the engine: it moves `model.current` and toggles playback."""

    playing_changed = Signal(bool)

    def __init__(self, model: AnnotationModel, parent: QWidget | None = None, timecode: Timecode | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.timecode = timecode
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
        self._play_icons = (self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
                            self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self.play_btn.setIcon(self._play_icons[0])
        self.play_btn.setAutoRaise(True)
        self.play_btn.setToolTip("Play / pause (Space)")
        self.play_btn.toggled.connect(self.set_playing)
        row.addWidget(self.play_btn)
        self.spin = FrameSpinBox(timecode)
        self.spin.setRange(0, max(0, model.n_frames - 1))
        self.spin.setToolTip("Current frame: type a frame number" + (" or a timecode (HH:MM:SS:FF)" if timecode
                                                                    else "") + " and press Enter")
        self.spin.valueChanged.connect(model.set_current)
        row.addWidget(QLabel("Frame"))
        row.addWidget(self.spin)
        self.total = QLabel(f"/ {max(0, model.n_frames - 1)}")
        row.addWidget(self.total)
        self.tc_label = QLabel()
        self.tc_label.setStyleSheet("font-family:monospace;")
        if timecode is not None:
            src = "start timecode from the file" if timecode.from_container else "no timecode in the file: starts at 0"
            self.tc_label.setToolTip(f"Timecode at {timecode.fps:g} frames/s ({src})")
        self.tc_label.setVisible(timecode is not None)
        row.addWidget(self.tc_label)
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
        if self.timecode is not None:
            self.tc_label.setText(f"TC {self.timecode.format(frame)}")
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
        self.play_btn.setIcon(self._play_icons[1] if on else self._play_icons[0])
        self.play_btn.setToolTip("Pause (Space)" if on else "Play (Space)")
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
