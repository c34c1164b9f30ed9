"""Item 12: icon states, the F1 sheet, naming and About, empty state, play glyph, Edit menu objects, brush size
persistence, Save / Save As / Close, and the question when quitting during a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QIcon

from app.engine.plan import Mode
from app.ui.dialogs import asked, push_answer
from tests.app.conftest import H, N, W
from tests.app.helpers import SlowSession


def _img(ic: QIcon, mode: QIcon.Mode, state: QIcon.State = QIcon.State.Off) -> np.ndarray:
    im = ic.pixmap(24, 24, mode, state).toImage().convertToFormat(im_fmt())
    return np.frombuffer(im.constBits(), np.uint8, im.sizeInBytes()).reshape(24, -1, 4)[:, :24].copy()


def im_fmt():  # noqa: ANN201
    from PySide6.QtGui import QImage

    return QImage.Format.Format_RGBA8888


def _ink(img: np.ndarray) -> tuple[float, np.ndarray]:
    """Opacity-weighted coverage and mean colour of the drawn pixels."""
    a = img[..., 3].astype(float) / 255
    return a.sum(), (img[..., :3] * a[..., None]).sum((0, 1)) / max(a.sum(), 1e-6)


def test_icon_states_are_distinct(qtbot, window) -> None:  # noqa: ANN001
    from app.ui.icons import icon

    ic = icon("brush")
    normal, disabled = _img(ic, QIcon.Mode.Normal), _img(ic, QIcon.Mode.Disabled)
    on = _img(ic, QIcon.Mode.Normal, QIcon.State.On)
    (cov_n, col_n), (cov_d, _), (_, col_on) = _ink(normal), _ink(disabled), _ink(on)
    assert cov_d < 0.6 * cov_n  # disabled is faded
    assert col_n.mean() < 120  # enabled strokes are dark on the light toolbar (they were #d0d4da, like disabled)
    assert col_on[2] > col_on[0] + 60  # the checked tool is drawn in the highlight colour
    assert window.actions["undo"].icon().cacheKey() != 0 and not window.actions["undo"].isEnabled()


def test_shortcut_sheet_is_a_searchable_table(window, qtbot) -> None:  # noqa: ANN001
    from app.ui.help import ShortcutsDialog

    window.actions["shortcuts"].trigger()
    dlg = window.shortcuts_dialog
    assert isinstance(dlg, ShortcutsDialog) and dlg.isVisible()
    qtbot.waitExposed(dlg)
    total = dlg.table.rowCount()
    assert total > 40 and dlg.table.verticalScrollBar().maximum() > 0  # scrolls inside a normal-sized dialog
    assert dlg.width() < 800
    dlg.search.setText("propagate")
    shown = [r for r in range(total) if not dlg.table.isRowHidden(r)]
    assert 4 <= len(shown) < total
    assert all("propagat" in (dlg.table.item(r, 1).text() + dlg.table.item(r, 2).text()).lower() for r in shown)
    dlg.search.setText("ctrl+z")
    assert any(r.startswith("Undo") for r in dlg.visible_rows())
    assert "of" in dlg.count.text()
    dlg.close()


def test_name_about_empty_state_and_edit_menu(qtbot, window, tiny_weights: Path) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    empty = MainWindow()
    qtbot.addWidget(empty)
    assert empty.windowTitle() == "XMem Studio"
    assert empty.objects_dock.windowTitle() == "Objects" and empty.memory_dock.windowTitle() == "Memory"
    assert "once a clip is open" in empty.objects_dock.widget().text()
    assert empty.centralWidget().objectName() == "drop_hint" and "Drop a clip here" in empty.centralWidget().text()
    about = empty.about_text()
    assert "XMem Studio" in about and "0.1.0" in about and "xmem-lite.pth (shipped default)" in about
    assert "model card: J&F " in about
    assert not any(a.isVisible() for a in empty.actions.select_object)  # no objects, none listed
    empty.close()
    assert window.windowTitle() == "clip — XMem Studio"
    assert "tiny.pth" in window.about_text() and "no model card" in window.about_text()
    m = window.project.model
    visible = [a for a in window.actions.select_object if a.isVisible()]
    assert len(visible) == 1 and visible[0].text() == "Select 1: Object 1"
    m.objects.add("dog")
    visible = [a.text() for a in window.actions.select_object if a.isVisible()]
    assert visible == ["Select 1: Object 1", "Select 2: dog"]
    # play glyph: a real icon that changes with the state
    tr = window.editor.transport
    play = tr.play_btn.icon().cacheKey()
    assert not tr.play_btn.icon().isNull() and tr.play_btn.text() == ""
    tr.set_playing(True)
    assert tr.play_btn.icon().cacheKey() != play
    tr.set_playing(False)


def test_brush_size_persists(qtbot, window) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    window.brush_spin.setValue(37)
    assert window.editor.canvas.brush_size == 37
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.brush_spin.value() == 37
    again.close()


def test_save_save_as_and_close(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    m = window.project.model
    mask = np.zeros((H, W), np.uint8)
    mask[10:20, 10:20] = 1
    m.commit_edit(3, mask)
    window.actions["save"].trigger()
    assert "Saved to" in window.status.currentMessage()
    old = window.project.workspace.root
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert not window.save_as(tmp_path / "full")  # refuses a non-empty folder
    assert window.save_as(tmp_path / "copy")
    assert window.project.workspace.root == (tmp_path / "copy").resolve()
    assert np.array_equal(window.project.model.mask(3), mask) and window.project.model.keyframes == {3}
    assert (old / "masks").is_dir()  # the old workspace is left as it was
    window.actions["close_project"].trigger()
    assert window.project is None and window.centralWidget().objectName() == "drop_hint"
    assert window.windowTitle() == "XMem Studio" and not window.actions["save"].isEnabled()


def test_quit_during_run_asks(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    mask = np.zeros((H, W), np.uint8)
    mask[10:20, 10:20] = 1
    m.commit_edit(0, mask)
    fake = SlowSession(N, (H, W), delay=0.2)
    window.controller._provider_override = lambda: fake
    assert window.propagate(Mode.FORWARD)
    push_answer(False)
    assert not window.close()
    assert asked()[-1][0] == "Quit during propagation?" and window.isVisible() and window.controller.running
    push_answer(True)
    assert window.close()
    assert window.project is None
