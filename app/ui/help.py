"""Shortcut reference built from the actions themselves (always in sync)."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from app.ui.actions import Actions


def shortcuts_text(actions: Actions) -> str:
    lines = []
    for act in actions.all():
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in act.shortcuts())
        if keys:
            lines.append(f"{keys:<16} {act.text().replace('&', '')}")
    lines.append("Shift+wheel        Brush size")
    lines.append("Wheel / middle-drag  Zoom / pan")
    return "\n".join(lines)
