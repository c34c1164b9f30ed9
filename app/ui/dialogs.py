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


#: answers `ask` gives without a display (tests push answers; default yes), and the questions it was asked
_ANSWERS: list[bool] = []
_ASKED: list[tuple[str, str]] = []


def asked() -> list[tuple[str, str]]:
    """Questions asked so far (title, text), newest last; tests read this."""
    return _ASKED


def push_answer(yes: bool) -> None:
    """The answer the next `ask` gives under XMEM_APP_NO_DIALOGS."""
    _ANSWERS.append(yes)


def ask(parent: QWidget | None, title: str, text: str, yes: str = "Continue") -> bool:
    """A yes / cancel question; True when the user chose `yes`."""
    _ASKED.append((title, text))
    if os.environ.get("XMEM_APP_NO_DIALOGS"):
        return _ANSWERS.pop(0) if _ANSWERS else True
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    ok = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is ok
