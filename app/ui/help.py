"""F1 shortcut sheet (a searchable table built from the actions themselves, so always in sync) and About."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.actions import Actions

MOUSE_ROWS = [
    ("Shift+wheel", "Brush size", "Canvas"),
    ("Wheel", "Zoom at the pointer", "Canvas"),
    ("Middle-drag, Alt+drag", "Pan", "Canvas"),
    ("Right-drag (brush)", "Erase", "Canvas"),
    ("Click / drag on the timeline", "Go to a frame", "Timeline"),
]


def shortcut_rows(actions: Actions) -> list[tuple[str, str, str]]:
    """(keys, action, what it does) for every action with a shortcut, then the mouse gestures."""
    rows = []
    for act in actions.all():
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in act.shortcuts())
        if keys:
            rows.append((keys, act.text().replace("&", ""), act.statusTip()))
    return rows + MOUSE_ROWS


def shortcuts_text(actions: Actions) -> str:
    """Plain-text version of the sheet (one row a line)."""
    return "\n".join(f"{k:<24} {a}" for k, a, _ in shortcut_rows(actions))


class ShortcutsDialog(QDialog):
    """A scrollable table of shortcuts with a search box that filters rows as you type."""

    def __init__(self, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts — XMem Studio")
        self.resize(620, 560)
        lay = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search shortcuts (e.g. propagate, brush, Ctrl+Z)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        lay.addWidget(self.search)
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Shortcut", "Action", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        head.setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        self.count = QLabel()
        lay.addWidget(self.count)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.filter("")
        self.search.setFocus(Qt.FocusReason.OtherFocusReason)

    def filter(self, text: str) -> None:
        """Show only rows containing `text` (any column, case-insensitive)."""
        t = text.strip().lower()
        shown = 0
        for r in range(self.table.rowCount()):
            hit = not t or any(t in self.table.item(r, c).text().lower() for c in range(3))
            self.table.setRowHidden(r, not hit)
            shown += hit
        self.count.setText(f"{shown} of {self.table.rowCount()} shortcuts")

    def visible_rows(self) -> list[str]:
        return [self.table.item(r, 1).text() for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]
