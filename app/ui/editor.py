"""The central editor: canvas on top, memory timeline and frame slider below (aligned)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from app.model.annotation import AnnotationModel
from app.timecode import Timecode
from app.ui.canvas import Canvas
from app.ui.timeline import MemoryTimeline
from app.ui.transport import Transport


class EditorView(QSplitter):
    def __init__(self, model: AnnotationModel, parent: QWidget | None = None, timecode: Timecode | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.canvas = Canvas(model)
        self.addWidget(self.canvas)
        bottom = QWidget()
        lay = QVBoxLayout(bottom)
        lay.setContentsMargins(0, 0, 0, 4)
        lay.setSpacing(0)
        self.timeline = MemoryTimeline(model, timecode=timecode)
        self.transport = Transport(model, timecode=timecode)
        lay.addWidget(self.timeline)
        lay.addWidget(self.transport)
        self.addWidget(bottom)
        self.setStretchFactor(0, 4)
        self.setStretchFactor(1, 1)
        self.setSizes([500, 300])  # room for three readable memory lanes
        self.timeline.seek.connect(model.set_current)
        self.timeline.span_changed.connect(self.transport.set_margins)
