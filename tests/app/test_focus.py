"""Issue 17 defect 5: the keyboard starts on the canvas and comes back to it after Enter / Escape in a field, so
single-key shortcuts are never swallowed by a spin box."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.canvas import Tool


def _focus():  # noqa: ANN202
    return QApplication.focusWidget()


def test_keyboard_starts_on_the_canvas(window, qtbot) -> None:  # noqa: ANN001
    window.activateWindow()
    qtbot.waitUntil(lambda: _focus() is not None, timeout=2000)
    assert _focus() is window.editor.canvas
    qtbot.keyClick(_focus(), Qt.Key.Key_E)
    assert window.editor.canvas.tool == Tool.ERASER


def test_enter_in_the_frame_box_gives_the_keyboard_back(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    m.add_object("dog")
    assert m.objects.selected == 2
    spin = window.editor.transport.spin
    spin.setFocus()
    qtbot.waitUntil(lambda: _focus() is spin, timeout=2000)
    spin.selectAll()
    qtbot.keyClicks(spin, "7")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert m.current == 7
    qtbot.waitUntil(lambda: _focus() is window.editor.canvas, timeout=2000)
    qtbot.keyClick(_focus(), Qt.Key.Key_1)  # select object 1, not frame 1
    assert m.objects.selected == 1 and m.current == 7
    # Escape in the brush box too
    window.brush_spin.setFocus()
    qtbot.waitUntil(lambda: _focus() is window.brush_spin, timeout=2000)
    qtbot.keyClick(window.brush_spin, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: _focus() is window.editor.canvas, timeout=2000)
    qtbot.keyClick(_focus(), Qt.Key.Key_Right)
    assert m.current == 8


def test_shortcuts_are_application_wide(window) -> None:  # noqa: ANN001
    acts = window.actions.all()
    assert all(a.shortcutContext() == Qt.ShortcutContext.ApplicationShortcut for a in acts if a.shortcuts())
    assert window.opacity.focusPolicy() == Qt.FocusPolicy.NoFocus
    assert window.brush_spin.focusPolicy() == Qt.FocusPolicy.ClickFocus
