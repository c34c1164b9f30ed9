"""Icons from resources/icons (SVG), with a standard-style fallback."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from app.paths import ICONS


@cache
def icon(name: str) -> QIcon:
    """QIcon for resources/icons/<name>.svg (an empty icon if missing)."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()
