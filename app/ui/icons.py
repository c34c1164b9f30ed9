"""Toolbar icons from resources/icons (SVG), drawn in three distinct states:

  enabled    strokes in the window's text colour (dark on a light toolbar, light on a dark one), accents kept
  disabled   every colour a flat grey at 40 % opacity
  selected   (checked tools) strokes in the highlight colour

The SVGs are drawn with one neutral stroke colour (`BASE`) that is replaced per state."""

from __future__ import annotations

import re
from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.paths import ICONS

BASE = "#d0d4da"  # neutral stroke colour in the SVG files
DISABLED = "#9aa0a6"
SIZES = (16, 20, 24, 32, 48)


def _palette_color(role: QPalette.ColorRole, fallback: str) -> str:
    app = QGuiApplication.instance()
    return app.palette().color(role).name() if app is not None else fallback


def recolor(svg: str, stroke: str, all_colors: str | None = None) -> str:
    """`svg` with the neutral stroke colour replaced by `stroke` (and every colour by `all_colors` if given)."""
    if all_colors is not None:
        return re.sub(r"#[0-9a-fA-F]{6}", all_colors, svg)
    return svg.replace(BASE, stroke)


def _pixmap(svg: str, size: int, opacity: float = 1.0) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setOpacity(opacity)
    renderer.render(p, QRectF(0, 0, size, size))
    p.end()
    return pm


@cache
def icon(name: str) -> QIcon:
    """QIcon for resources/icons/<name>.svg with normal, disabled and selected (checked) pixmaps; an empty icon
    if the file is missing."""
    path = ICONS / f"{name}.svg"
    if not path.is_file():
        return QIcon()
    svg = path.read_text("utf-8")
    text = _palette_color(QPalette.ColorRole.WindowText, "#202124")
    accent = _palette_color(QPalette.ColorRole.Highlight, "#1a73e8")
    if QColor(accent).lightness() > 200:  # a pale highlight would not read as "selected"
        accent = "#1a73e8"
    ic = QIcon()
    for size in SIZES:
        normal = _pixmap(recolor(svg, text), size)
        on = _pixmap(recolor(svg, accent), size)
        off = _pixmap(recolor(svg, DISABLED, all_colors=DISABLED), size, opacity=0.4)
        for mode in (QIcon.Mode.Normal, QIcon.Mode.Active):
            ic.addPixmap(normal, mode, QIcon.State.Off)
            ic.addPixmap(on, mode, QIcon.State.On)
        ic.addPixmap(on, QIcon.Mode.Selected, QIcon.State.On)
        ic.addPixmap(normal, QIcon.Mode.Selected, QIcon.State.Off)
        ic.addPixmap(off, QIcon.Mode.Disabled, QIcon.State.Off)
        ic.addPixmap(off, QIcon.Mode.Disabled, QIcon.State.On)
    return ic
