"""Keyboard focus for an editor: small fields hand the keyboard back to the canvas when the user is done with them.

Spin boxes and line edits keep letters, digits and arrows for themselves while they have focus (so "1" typed
after a frame number and Enter went to the frame box, not to "select object 1"). Enter, Return or Escape in a
watched field ends the edit and gives the focus back to the canvas, where every shortcut works."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget

DONE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)


class ReturnFocus(QObject):
    """Event filter for small fields: after Enter / Return / Escape the focus goes to `target()` (if any)."""

    def __init__(self, target: Callable[[], QWidget | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._target = target

    def watch(self, *widgets: QWidget) -> None:
        """Return focus from these widgets; they keep focus only on a click (never at launch or by Tab order)."""
        for w in widgets:
            w.installEventFilter(self)
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.KeyPress and event.key() in DONE_KEYS:
            QTimer.singleShot(0, self.give_back)  # after the field has taken (or dropped) its value
        return False

    def give_back(self) -> None:
        target = self._target()
        if target is not None and shiboken6.isValid(target) and target.isVisible():
            target.setFocus(Qt.FocusReason.ShortcutFocusReason)
