"""Labels whose text never sets the window's width: long text is elided ("…") to the room the layout gives, and the
full text is the tooltip. Used for the status bar's readouts, whose text changes all the time."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """One line of plain text, elided on the right to the label's width, with an optional rich-text prefix.

    Its size hints do not depend on the text (`hint_chars` average characters wide, shrinkable to nothing), so
    changing the text never resizes docks, the window, or the zoom."""

    def __init__(self, hint_chars: int = 40, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._prefix = ""
        self._hint_chars = hint_chars
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)

    def set_full_text(self, text: str, prefix_html: str = "") -> None:
        """Show `text` (plain) after `prefix_html`, elided to fit; the whole of it is the tooltip."""
        self._full, self._prefix = text, prefix_html
        self.setToolTip(text if text else "")
        self._elide()

    def setText(self, text: str) -> None:  # noqa: N802 - plain text, elided
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def _elide(self) -> None:
        plain_prefix = html.unescape(re.sub(r"<[^>]+>", "", self._prefix))
        prefix_w = self.fontMetrics().horizontalAdvance(plain_prefix) if plain_prefix else 0
        room = max(0, self.width() - prefix_w - 4)
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        super().setText(self._prefix + html.escape(shown))

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        super().resizeEvent(event)
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().averageCharWidth() * self._hint_chars, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().minimumSizeHint().height())

