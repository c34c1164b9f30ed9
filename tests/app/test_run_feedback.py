"""Issue 17 defect 6: what the window shows during and after a propagation."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.engine.plan import Mode
from app.ui.canvas import Tool
from tests.app.conftest import H, N, W
from tests.app.helpers import SlowSession, click, paint_stroke


def _paint(win) -> None:  # noqa: ANN001
    canvas = win.editor.canvas
    canvas.set_tool(Tool.BRUSH)
    canvas.set_brush_size(10)
    paint_stroke(canvas, [(15, 25), (25, 30), (30, 38)])


def _fake(win, delay: float = 0.03) -> SlowSession:  # noqa: ANN001
    fake = SlowSession(N, (H, W), delay=delay)
    win.controller._provider_override = lambda: fake
    return fake


def test_follow_the_run_and_clear_readouts(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _paint(window)
    fake = _fake(window)
    assert window.actions["follow_run"].isChecked()  # on by default
    seen = []
    m.current_changed.connect(seen.append)
    with qtbot.waitSignal(window.controller.run_finished, timeout=10000):
        window.propagate(Mode.FORWARD)
    assert seen == list(range(1, N)) and m.current == N - 1  # each finished frame was shown as it landed
    assert "frames/s" not in window.status.rate.full_text() and window.status.bar.isHidden()  # no stale ETA
    # moving by hand during a run stops following
    m.set_current(0)
    fake.delay = 0.08
    got = []
    window.controller.frame_processed.connect(got.append)
    window.propagate(Mode.FORWARD)
    qtbot.waitUntil(lambda: len(got) >= 2, timeout=5000)
    window.actions["prev"].trigger()
    here = m.current
    assert not window.actions["follow_run"].isChecked()
    qtbot.waitUntil(lambda: len(got) >= 4, timeout=5000)
    assert m.current == here
    with qtbot.waitSignal(window.controller.run_finished, timeout=10000):
        window.actions["cancel"].trigger()


def test_pause_button_shows_its_state(window, qtbot) -> None:  # noqa: ANN001
    _paint(window)
    _fake(window, delay=0.05)
    got = []
    window.controller.frame_processed.connect(got.append)
    window.propagate(Mode.FORWARD)
    qtbot.waitUntil(lambda: len(got) >= 1, timeout=5000)
    pause = window.actions["pause"]
    assert pause.isCheckable() and not pause.isChecked()
    pause.trigger()
    assert window.controller.paused and pause.isChecked() and "Resume" in pause.text()
    pause.trigger()
    assert not window.controller.paused and not pause.isChecked() and "Pause" in pause.text()
    with qtbot.waitSignal(window.controller.run_finished, timeout=10000):
        window.actions["cancel"].trigger()
    assert not pause.isChecked()


def test_hover_readout_follows_a_fill(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    canvas = window.editor.canvas
    canvas.set_tool(Tool.FILL)
    p = canvas.to_widget(60, 10).toPoint()
    QTest.mouseMove(canvas, p)
    assert window.status.cursor.full_text().endswith("background")
    click(canvas, 60, 10)  # flood-fill the background region under the pointer with object 1
    assert m.mask(0)[10, 60] == 1
    assert window.status.cursor.full_text().endswith("Object 1")  # without moving the pointer


def test_timeline_hover_line_goes_on_leave(window, qtbot) -> None:  # noqa: ANN001
    tl = window.editor.timeline
    r = tl.wm.vb.sceneBoundingRect()
    tl._on_hover(QPointF(r.left() + r.width() / 2, r.center().y()), tl.wm)
    assert all(h.isVisible() for h in tl.hover_lines)
    QApplication.sendEvent(tl, QEvent(QEvent.Type.Leave))
    assert not any(h.isVisible() for h in tl.hover_lines)
    assert "hover" not in tl.header.text()


def test_undoing_a_run_redraws_the_memory_lanes(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _paint(window)
    _fake(window, delay=0.0)
    with qtbot.waitSignal(window.controller.run_finished, timeout=10000):
        window.propagate(Mode.FORWARD)
    tl = window.editor.timeline
    tl.redraw()
    assert len(m.memlog) == N and len(tl.wm_bars.opts["height"]) > 0
    window.actions["undo"].trigger()
    assert len(m.memlog) == 0
    qtbot.waitUntil(lambda: len(tl.wm_bars.opts["height"]) == 0, timeout=3000)
    window.actions["redo"].trigger()
    assert len(m.memlog) == N
    qtbot.waitUntil(lambda: len(tl.wm_bars.opts["height"]) > 0, timeout=3000)
    assert np.array_equal(m.masks.frames(), list(range(N)))




def test_cancel_stops_within_a_stage(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """Esc while the decoder runs: the frame in progress is dropped before its memory stage (the real network)."""
    from xmem_core.model.network import XMem

    _paint(window)
    decoder_calls, memorised_after_cancel = [], []
    segment, encode_value = XMem.segment, XMem.encode_value

    def slow_segment(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        out = segment(self, *args, **kwargs)
        decoder_calls.append(1)
        if len(decoder_calls) == 3:  # the user cancels while frame 3's decoder runs
            window.controller.worker.cancel()
        return out

    def watched_encode_value(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if len(decoder_calls) >= 3:
            memorised_after_cancel.append(1)
        return encode_value(self, *args, **kwargs)

    monkeypatch.setattr(XMem, "segment", slow_segment)
    monkeypatch.setattr(XMem, "encode_value", watched_encode_value)
    got = []
    window.controller.frame_processed.connect(got.append)
    with qtbot.waitSignal(window.controller.run_finished, timeout=60000):
        assert window.propagate(Mode.FORWARD)
    assert window.controller.last_status == "cancelled"
    assert got == [0, 1, 2] and not memorised_after_cancel  # frame 3 stopped after its decoder
    assert window.project.model.masks.frames() == [0, 1, 2]


def test_gui_thread_comes_before_the_network(window, qtbot) -> None:  # noqa: ANN001
    """The propagating thread runs at a lower priority than the GUI thread (scrubbing stays fast during a run;
    benchmarks/bench_scrub.py measures it)."""
    import os
    import sys
    import threading

    if not sys.platform.startswith("linux"):
        return
    _paint(window)
    fake = _fake(window, delay=0.0)
    seen = []
    propagate = fake.propagate

    def watched(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        yield from propagate(*args, **kwargs)

    fake.propagate = watched
    with qtbot.waitSignal(window.controller.run_finished, timeout=10000):
        window.propagate(Mode.FORWARD)
    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen and seen[0] >= min(19, gui + 5)
