"""Error dialogs that say what happened and what to do."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import describe

#: set XMEM_APP_NO_DIALOGS=1 (tests) to log errors instead of blocking on a modal box
_LOG: list[tuple[str, str]] = []


def error_log() -> list[tuple[str, str]]:
    """Errors shown so far (title, text), newest last; tests read this."""
    return _LOG


def show_message(parent: QWidget | None, title: str, text: str) -> None:
    _LOG.append((title, text))
    if os.environ.get("XMEM_APP_NO_DIALOGS"):
        return
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.exec()


def show_error(parent: QWidget | None, exc: BaseException, context: str = "") -> None:
    show_message(parent, *describe(exc, context))
