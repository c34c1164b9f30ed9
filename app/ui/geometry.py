"""Window geometry that fits the screen it opens on (a 1366×768 laptop included)."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

PREFERRED = (1400, 900)  # on screens large enough
MARGIN = (0.96, 0.92)  # of the available width / height at most (room for the frame and title bar)


def default_geometry(available: QRect, preferred: tuple[int, int] = PREFERRED) -> QRect:
    """The preferred size, shrunk to fit `available` (the screen less task bars), centred in it."""
    w = min(preferred[0], int(available.width() * MARGIN[0]))
    h = min(preferred[1], int(available.height() * MARGIN[1]))
    return QRect(available.x() + (available.width() - w) // 2, available.y() + (available.height() - h) // 2, w, h)


def available_geometry(widget: QWidget) -> QRect:
    """The available area of the screen the widget is on (the primary screen before it is shown)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fit_to_screen(widget: QWidget) -> None:
    """Give a top-level window its default geometry on its screen."""
    widget.setGeometry(default_geometry(available_geometry(widget)))
