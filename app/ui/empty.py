"""Empty-state widgets shown before a clip is open: the drop hint and the docks' placeholders."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

DROP_HINT = ("<div style='font-size:22px; color:#5f6368'>Drop a clip here</div>"
             "<div style='font-size:13px; color:#80868b; margin-top:8px'>a video file (mp4, mov, mkv…) or a folder of "
             "frames · or File ▸ Open clip… (Ctrl+O)</div>")


def drop_hint(parent: QWidget | None = None) -> QLabel:
    """The central widget of an empty window: a large "drop a clip here" target."""
    label = QLabel(DROP_HINT, parent)
    label.setObjectName("drop_hint")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setStyleSheet("QLabel#drop_hint { border: 2px dashed #bdc1c6; border-radius: 12px; margin: 40px; }")
    return label


def dock_placeholder(text: str, parent: QWidget | None = None) -> QLabel:
    """Grey explanatory text for a dock whose content needs an open clip."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setStyleSheet("color:#80868b; padding:8px;")
    return label
