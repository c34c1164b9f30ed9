""""Learn from keyframes" in the real window: runs in the worker thread, marks the timeline, saves the weights with the
project, undo/redo swap the weights, cancel keeps the previous ones."""

from __future__ import annotations

from pathlib import Path

from app.engine.adapt_job import FILE_NAME
from app.engine.plan import Mode
from app.ui.canvas import Tool
from tests.app.conftest import small_settings
from tests.app.helpers import paint_stroke


def _paint_square(win) -> None:  # noqa: ANN001
    canvas = win.editor.canvas
    canvas.set_tool(Tool.BRUSH)
    canvas.set_brush_size(10)
    paint_stroke(canvas, [(15, 25), (25, 30), (30, 38)])


def _learn(win, qtbot, budget: int = 2) -> None:  # noqa: ANN001
    win.memory_panel.learn_budget.setValue(max(5, budget))
    with qtbot.waitSignal(win.learner.running_changed, timeout=120000, check_params_cb=lambda r: not r):
        win.actions["learn"].trigger()
        assert win.learner.running


def _propagate(win, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(win.controller.run_finished, timeout=60000):
        assert win.propagate(Mode.FORWARD)


def _session(win):  # noqa: ANN001, ANN202
    return win.controller.factory._session


def test_learn_undo_redo_and_reopen(window, qtbot, clip: Path, tiny_weights: Path) -> None:  # noqa: ANN001
    m = window.project.model
    saved = Path(window.project.workspace.root) / FILE_NAME
    _paint_square(window)
    _learn(window, qtbot)
    adapted = _session(window).adapted_network
    assert adapted is not None and saved.is_file()
    assert any(k == "adapt" for _, k, _ in m.memlog.events())  # the timeline marks it
    assert m.history.undo_label() == "Learn from keyframes"
    window.actions["undo"].trigger()
    window.actions["redo"].trigger()
    _propagate(window, qtbot)
    assert _session(window).adapted_network is adapted
    assert any(e["kind"] == "adapt" for e in m.memlog.get(0)["events"])  # memory was reset for the new weights
    window.actions["undo"].trigger()  # the run
    window.actions["undo"].trigger()  # the learning: back to the base weights, applied before the next run
    _propagate(window, qtbot)
    assert _session(window).adapted_network is None and not saved.exists()
    assert any(e["kind"] == "adapt" and e["detail"].get("base") for e in m.memlog.get(0)["events"])
    _learn(window, qtbot)
    again = _session(window).adapted_network
    assert again is not None and again is not adapted and saved.is_file()
    # reopening the workspace (a fresh project, controller and session) restores the clip's weights
    assert window.open_path(clip, clip.parent / "ws")
    window.apply_settings(small_settings(tiny_weights))
    _propagate(window, qtbot)
    restored = _session(window).adapted_network
    assert restored is not None and restored is not again
    assert all((a == b).all() for a, b in zip(restored.state_dict().values(), again.state_dict().values(),
                                              strict=True))


def test_cancel_keeps_previous_weights(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _paint_square(window)
    window.memory_panel.learn_budget.setValue(600)
    with qtbot.waitSignal(window.learner.running_changed, timeout=120000, check_params_cb=lambda r: not r):
        with qtbot.waitSignal(window.learner.progress, timeout=60000):
            window.memory_panel.learn.click()
        assert window.actions["cancel"].isEnabled() and not window.actions["prop_forward"].isEnabled()
        window.actions["cancel"].trigger()
    assert _session(window).adapted_network is None
    assert not (Path(window.project.workspace.root) / FILE_NAME).exists()
    assert m.history.undo_label() != "Learn from keyframes"
    assert window.actions["prop_forward"].isEnabled()


def test_learn_needs_a_keyframe(window) -> None:  # noqa: ANN001
    messages = []
    window.learner.status.connect(messages.append)
    window.memory_panel.learn.click()
    assert not window.learner.running and "keyframe" in messages[-1]
