"""Issue 17 defect 3: re-propagating from a keyframe where only some objects are painted replaces only those
objects; the in/out keys never reverse the range."""

from __future__ import annotations

import numpy as np

from app.engine.partial import mask_ids
from tests.app.conftest import H, N, W
from tests.app.helpers import SlowSession


def _three_objects(m) -> np.ndarray:  # noqa: ANN001
    m.add_object("dog")
    m.add_object("cat")
    mask = np.zeros((H, W), np.uint8)
    mask[5:20, 5:25] = 1
    mask[30:50, 5:25] = 2
    mask[30:50, 60:90] = 3
    return mask


def test_mask_ids() -> None:
    assert mask_ids(np.array([[1, 2, 3, 0, 3]], np.uint8)) == {1, 2, 3} and mask_ids(None) == set()


def test_repropagating_one_object_keeps_the_others(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    fake = SlowSession(N, (H, W), delay=0.0)
    window.controller._provider_override = lambda: fake
    first = _three_objects(m)
    m.commit_edit(0, first, "Paint")
    with qtbot.waitSignal(window.controller.run_finished, timeout=10000):
        window.actions["prop_forward"].trigger()
    assert all(set(np.unique(m.mask(f))) == {0, 1, 2, 3} for f in range(N))
    # at frame 9 the user repaints only object 1 (moved), then propagates back over the range 4–9
    only_one = np.zeros((H, W), np.uint8)
    only_one[8:22, 30:50] = 1
    m.set_current(4)
    window.actions["set_in"].trigger()
    m.set_current(9)
    window.actions["set_out"].trigger()
    assert (m.in_point, m.out_point) == (4, 9)
    m.commit_edit(9, only_one, "Brush")
    msgs = []
    window.controller.status.connect(msgs.append)
    with qtbot.waitSignal(window.controller.run_finished, timeout=10000):
        window.actions["prop_range"].trigger()
    assert window.controller.last_status == "done"
    assert "dog, cat keep their masks" in msgs[0]
    for f in range(4, 9):
        got = m.mask(f)
        assert (got == 2).sum() == (first == 2).sum() and (got == 3).sum() == (first == 3).sum(), f
        assert np.array_equal(got == 1, only_one == 1), f  # object 1 follows the new keyframe
    assert np.array_equal(m.mask(3), first) and np.array_equal(m.mask(9), only_one)
    window.actions["undo"].trigger()
    assert np.array_equal(m.mask(5), first)


def test_in_and_out_never_reverse_the_range(window) -> None:  # noqa: ANN001
    m = window.project.model
    m.set_current(3)
    window.actions["set_out"].trigger()
    m.set_current(9)
    window.actions["set_in"].trigger()  # after the out point: the out point goes, the range is 9 – end
    assert (m.in_point, m.out_point) == (9, None)
    assert window.editor.transport.range_label.text() == f"in 9 · out {N - 1}"
    assert "cleared" in window.status.currentMessage()
    m.set_current(2)
    window.actions["set_out"].trigger()  # before the in point: the in point goes, the range is 0 – 2
    assert (m.in_point, m.out_point) == (None, 2)
