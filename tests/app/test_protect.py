"""Item 9: locked objects, propagating only the selected object, and the overwrite warning."""

from __future__ import annotations

import numpy as np

from app.engine.plan import Mode, Pass
from app.engine.protect import merge_run_mask, overwritten_frames, written_ids
from app.ui.dialogs import asked, push_answer
from tests.app.conftest import H, N, W
from tests.app.helpers import SlowSession


def test_written_ids_and_merge() -> None:
    assert written_ids([1, 2, 3], [2], 1, False) == {1, 3}
    assert written_ids([1, 2, 3], [2], 1, True) == {1}
    assert written_ids([1, 2], [1], 1, True) == set()
    old = np.array([[1, 2, 0, 3]], np.uint8)
    new = np.array([[2, 1, 1, 0]], np.uint8)
    # object 2 is locked: keeps its pixel; the run's object 2 elsewhere becomes background; 1 and 3 are the run's
    assert merge_run_mask(old, new, {1, 3}).tolist() == [[0, 2, 1, 0]]
    assert merge_run_mask(None, new, {1}).tolist() == [[0, 1, 1, 0]]
    plan = [Pass(5, 1, 9, False), Pass(5, -1, 0, False)]
    assert overwritten_frames(plan, 12, {5, 7}, {1, 2, 6, 7, 8, 11}) == [1, 2, 6, 8]


def _two_objects(m) -> np.ndarray:  # noqa: ANN001
    mask = np.zeros((H, W), np.uint8)
    mask[5:20, 5:30] = 1
    mask[30:50, 50:80] = 2
    if 2 not in m.objects:
        m.objects.add("dog")
    m.commit_edit(0, mask, "paint")
    return mask


def _run(win, qtbot, expect_start: bool = True) -> None:  # noqa: ANN001
    fake = SlowSession(N, (H, W), delay=0.0)
    win.controller._provider_override = lambda: fake
    if not expect_start:
        assert not win.propagate(Mode.FORWARD)
        return
    with qtbot.waitSignal(win.controller.run_finished, timeout=10000):
        assert win.propagate(Mode.FORWARD)


def test_lock_selected_only_and_warning(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    first = _two_objects(m)
    m.set_current(0)
    _run(window, qtbot)  # nothing propagated yet: no question
    assert not asked() and np.array_equal(m.mask(5), first)
    # lock the dog, then repaint frame 0 with object 1 covering the dog: the dog keeps its propagated pixels
    m.objects.select(2)
    window.actions["lock_object"].trigger()
    assert m.objects.get(2).locked and m.objects.locked_ids() == [2]
    m.objects.select(1)
    moved = first.copy()
    moved[30:50, 50:80] = 1
    m.commit_edit(0, moved, "repaint")
    _run(window, qtbot)
    assert not asked()  # the only other object is locked: nothing of theirs is replaced
    assert (m.mask(5) == 2).sum() == (first == 2).sum() and (m.mask(5)[30:50, 50:80] == 2).all()
    # unlock: propagating all objects would replace the dog's 11 propagated frames -> warning with the count
    m.objects.select(2)
    window.objects_panel.lock_selected()
    m.objects.select(1)
    assert not m.objects.get(2).locked
    push_answer(False)
    before = m.mask(5).copy()
    _run(window, qtbot, expect_start=False)
    title, text = asked()[-1]
    assert "dog" in text and f"{N - 1} frames" in text and "1–11" in text
    assert np.array_equal(m.mask(5), before)  # declined: nothing ran
    # selected object only: no warning, the dog is untouched even though frame 0 no longer has it
    window.actions["prop_selected_only"].trigger()
    assert window.controller.selected_only
    n_asked = len(asked())
    _run(window, qtbot)
    assert len(asked()) == n_asked
    assert (m.mask(5)[30:50, 50:80] == 2).all() and (m.mask(5)[5:20, 5:30] == 1).all()
    # every writable object locked: a clear message instead of a run
    window.objects_panel.lock_selected()
    _run(window, qtbot, expect_start=False)
    from app.ui.dialogs import error_log

    assert error_log()[-1][0] == "Nothing to propagate"
    # lock state is saved with the project
    window.project.save()
    import json

    data = json.loads((window.project.workspace.root / "project.json").read_text())
    assert [o.get("locked") for o in data["objects"]] == [True, False]
