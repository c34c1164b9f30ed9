"""Issue 17 defect 2: object add / rename / colour / delete are undoable steps like strokes, and delete asks first."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt

from app.ui.canvas import Tool
from app.ui.dialogs import asked, push_answer
from tests.app.helpers import paint_stroke


def _saved_objects(win) -> list[dict]:  # noqa: ANN001
    return json.loads((win.project.workspace.project_file).read_text())["objects"]


def test_delete_object_undo_brings_it_back(window) -> None:  # noqa: ANN001
    m = window.project.model
    canvas = window.editor.canvas
    canvas.set_tool(Tool.BRUSH)
    canvas.set_brush_size(10)
    paint_stroke(canvas, [(15, 25), (25, 30)])
    painted = m.mask(0).copy()
    assert (painted == 1).sum() > 50
    # rename through the objects list, as a double-click edit does
    item = window.objects_panel.list.item(0)
    item.setText("1  horse")
    assert m.objects.get(1).name == "horse"
    push_answer(False)  # "Delete object?" → Cancel: nothing happens
    window.actions["delete_object"].trigger()
    assert asked()[-1][0] == "Delete object" and 1 in m.objects
    window.actions["delete_object"].trigger()  # → Delete
    assert 1 not in m.objects and not (m.mask(0) == 1).any()
    assert _saved_objects(window) == []
    window.actions["undo"].trigger()
    assert m.objects.get(1).name == "horse" and m.objects.selected == 1
    assert np.array_equal(m.mask(0), painted)
    assert [o["name"] for o in _saved_objects(window)] == ["horse"]
    assert window.objects_panel.list.count() == 1
    # a new object now gets a fresh id instead of inheriting object 1's pixels
    window.actions["add_object"].trigger()
    assert m.objects.ids() == [1, 2]
    window.actions["undo"].trigger()  # undo the add
    assert m.objects.ids() == [1]
    window.actions["undo"].trigger()  # undo the rename
    assert m.objects.get(1).name == "Object 1"
    window.actions["redo"].trigger()
    window.actions["redo"].trigger()
    assert m.objects.ids() == [1, 2] and m.objects.get(1).name == "horse"
    window.actions["redo"].trigger()  # nothing left to redo after the delete was undone and the add redone
    assert 1 in m.objects


def test_object_colour_is_an_undoable_step(window) -> None:  # noqa: ANN001
    m = window.project.model
    canvas = window.editor.canvas
    canvas.set_brush_size(10)
    paint_stroke(canvas, [(15, 25), (25, 30)])
    m.set_object_color(1, (10, 200, 30))
    assert m.objects.get(1).color == (10, 200, 30)
    assert _saved_objects(window)[0]["color"] == [10, 200, 30]
    y, x = np.argwhere(m.mask(0) == 1)[0]
    img = canvas._qimage
    assert img.pixelColor(int(x), int(y)).green() > img.pixelColor(int(x), int(y)).red()
    window.actions["undo"].trigger()
    assert m.objects.get(1).custom_color is None and m.objects.get(1).color != (10, 200, 30)
    assert window.actions["undo"].text().startswith("&Undo Brush")
    window.actions["redo"].trigger()
    assert m.objects.get(1).color == (10, 200, 30)


def test_import_mask_objects_undo_with_the_mask(window, tmp_path) -> None:  # noqa: ANN001
    from app.maskio import save_mask
    from tests.app.conftest import H, W

    m = window.project.model
    arr = np.zeros((H, W), np.uint8)
    arr[5:20, 5:20] = 4
    save_mask(tmp_path / "k.png", arr)
    assert window.import_mask(tmp_path / "k.png")
    assert 4 in m.objects
    window.actions["undo"].trigger()
    assert 4 not in m.objects and m.mask(0) is None


def test_objects_panel_keys(window, qtbot) -> None:  # noqa: ANN001
    """The list's rename goes through the model (undoable), not around it."""
    m = window.project.model
    window.objects_panel.list.setCurrentRow(0)
    window.objects_panel.list.item(0).setText("cat")
    assert m.objects.get(1).name == "cat" and m.history.undo_label() == "Rename Object 1 to cat"
    qtbot.keyClick(window.editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert m.objects.get(1).name == "Object 1"
