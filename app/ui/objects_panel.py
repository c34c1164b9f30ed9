"""Object list: names, DAVIS colours, visibility, lock; add / rename / hide / lock / delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QToolButton, QVBoxLayout, QWidget

from app.model.objects import ObjectList


def swatch(rgb: tuple[int, int, int], size: int = 14, locked: bool = False) -> QIcon:
    """Colour square; a locked object's square carries a small padlock."""
    pm = QPixmap(size, size)
    pm.fill(QColor(*rgb))
    if locked:
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(20, 20, 20), 1.6))
        p.setBrush(QColor(245, 245, 245))
        s = size / 14
        p.drawArc(int(4 * s), int(1.5 * s), int(6 * s), int(7 * s), 0, 180 * 16)
        p.drawRect(int(3 * s), int(5.5 * s), int(8 * s), int(6.5 * s))
        p.end()
    return QIcon(pm)


class ObjectsPanel(QWidget):
    """Check box = visible; double-click = rename. Deleting asks the main window (it erases masks too)."""

    delete_requested = Signal(int)
    add_requested = Signal()

    def __init__(self, objects: ObjectList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.objects = objects
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setToolTip("Objects — click to select (1–9), tick to show/hide, double-click to rename")
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.currentItemChanged.connect(self._on_current)
        lay.addWidget(self.list)
        row = QHBoxLayout()
        for text, tip, slot in (("+ Add", "Add an object (Ctrl+N)", self.add_requested.emit),
                                ("Rename", "Rename the selected object (F2)", self.rename_selected),
                                ("Hide", "Show / hide the selected object (H)", self.toggle_selected),
                                ("Lock", "Lock / unlock the selected object: propagation never writes it (Ctrl+L)",
                                 self.lock_selected),
                                ("Delete", "Delete the selected object and its masks (undoable)",
                                 self._delete)):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            row.addWidget(b)
        lay.addLayout(row)
        objects.changed.connect(self.rebuild)
        objects.selected_changed.connect(self._select)
        self.rebuild()

    def rebuild(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for i, o in enumerate(self.objects):
            label = f"{i + 1}  {o.name}" if i < 9 else o.name
            item = QListWidgetItem(swatch(o.color, locked=o.locked), label)
            item.setData(Qt.ItemDataRole.UserRole, o.obj_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable)
            item.setCheckState(Qt.CheckState.Checked if o.visible else Qt.CheckState.Unchecked)
            lock = " · locked: propagation never writes it" if o.locked else ""
            item.setToolTip(f"id {o.obj_id} · colour rgb{o.color}{lock}")
            self.list.addItem(item)
            if o.obj_id == self.objects.selected:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def _select(self, obj_id: int | None) -> None:
        for i in range(self.list.count()):
            it = self.list.item(i)
            if it.data(Qt.ItemDataRole.UserRole) == obj_id:
                self.list.blockSignals(True)
                self.list.setCurrentItem(it)
                self.list.blockSignals(False)

    def _on_current(self, item: QListWidgetItem | None, _prev: object = None) -> None:
        if item is not None:
            self.objects.select(item.data(Qt.ItemDataRole.UserRole))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        obj_id = item.data(Qt.ItemDataRole.UserRole)
        o = self.objects.get(obj_id)
        if o is None:
            return
        visible = item.checkState() == Qt.CheckState.Checked
        text = item.text()
        name = text.split("  ", 1)[1] if "  " in text and text.split("  ", 1)[0].isdigit() else text
        if visible != o.visible:
            self.objects.set_visible(obj_id, visible)
        elif name.strip() and name != o.name:
            self.objects.rename(obj_id, name)

    def rename_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            o = self.objects.get(item.data(Qt.ItemDataRole.UserRole))
            self.list.blockSignals(True)
            item.setText(o.name if o else item.text())
            self.list.blockSignals(False)
            self.list.editItem(item)

    def toggle_selected(self) -> None:
        sel = self.objects.selected
        if sel is not None:
            self.objects.set_visible(sel, not self.objects.get(sel).visible)

    def lock_selected(self) -> None:
        sel = self.objects.selected
        if sel is not None:
            self.objects.set_locked(sel, not self.objects.get(sel).locked)

    def _delete(self) -> None:
        if self.objects.selected is not None:
            self.delete_requested.emit(self.objects.selected)
