"""Drive the real main window offscreen: paint, propagate with a tiny model, correct, undo, reopen, export."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QTimer

from app.engine.plan import Mode
from app.maskio import save_mask
from app.ui.canvas import Tool
from app.ui.dialogs import error_log
from tests.app.conftest import H, N, W
from tests.app.helpers import SlowSession, click, paint_stroke


def _paint_square(win) -> None:  # noqa: ANN001
    canvas = win.editor.canvas
    canvas.set_tool(Tool.BRUSH)
    canvas.set_brush_size(10)
    paint_stroke(canvas, [(15, 25), (25, 30), (30, 38)])


def _run(win, qtbot, mode: Mode = Mode.FORWARD, timeout: int = 60000) -> None:  # noqa: ANN001
    with qtbot.waitSignal(win.controller.run_finished, timeout=timeout):
        assert win.propagate(mode)


def test_paint_propagate_correct_undo(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _paint_square(window)
    first = m.mask(0).copy()
    assert (first == 1).sum() > 100 and m.keyframes == {0}
    _run(window, qtbot)
    assert window.controller.last_status == "done"
    assert m.masks.frames() == list(range(N))  # a mask on every later frame
    assert np.array_equal(m.mask(0), first)  # keyframe untouched
    assert len(m.memlog) == N and any(k == "consolidate" for _, k, _ in m.memlog.events())
    # correct frame 6 with the polygon tool, re-propagate from the start: frame 6 stays the user's
    m.set_current(6)
    canvas = window.editor.canvas
    canvas.set_tool(Tool.POLYGON)
    for x, y in [(40, 20), (70, 20), (70, 45)]:
        click(canvas, x, y)
    canvas._finish_polygon()
    corrected = m.mask(6).copy()
    assert m.keyframes == {0, 6} and (corrected == 1).sum() > 200
    m.set_current(0)
    _run(window, qtbot)
    assert np.array_equal(m.mask(6), corrected)
    # undo the run, then the correction; redo both
    after_run = m.mask(9).copy()
    window.actions["undo"].trigger()
    window.actions["undo"].trigger()
    assert 6 not in m.keyframes
    window.actions["redo"].trigger()
    window.actions["redo"].trigger()
    assert np.array_equal(m.mask(9), after_run) and m.keyframes == {0, 6}


def test_undo_restores_previous_run(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _paint_square(window)
    _run(window, qtbot, Mode.NEXT_KEYFRAME)
    assert m.masks.frames() == list(range(N))
    window.actions["undo"].trigger()  # the whole run is one step
    assert m.masks.frames() == [0]
    window.actions["undo"].trigger()
    assert m.masks.frames() == []


def test_worker_keeps_event_loop_alive_and_cancels_fast(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _paint_square(window)
    fake = SlowSession(N, (H, W), delay=0.08)
    window.controller._provider_override = lambda: fake
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    got = []
    window.controller.frame_processed.connect(got.append)
    assert window.propagate(Mode.FORWARD)
    qtbot.waitUntil(lambda: len(got) >= 3, timeout=5000)
    assert window.actions["pause"].isEnabled()
    m.set_current(1)  # the user scrubs and inspects finished frames while it runs
    assert m.mask(1) is not None
    gaps = np.diff(ticks)
    assert len(ticks) > 10 and gaps.max() < 0.5  # the GUI thread was never blocked
    n_at_cancel = len(got)
    with qtbot.waitSignal(window.controller.run_finished, timeout=5000):
        window.actions["cancel"].trigger()
    assert len(got) <= n_at_cancel + 1  # stops within a frame
    assert window.controller.last_status == "cancelled"
    timer.stop()


def test_pause_and_queued_correction(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _paint_square(window)
    fake = SlowSession(N, (H, W), delay=0.05)
    window.controller._provider_override = lambda: fake
    got = []
    window.controller.frame_processed.connect(got.append)
    assert window.propagate(Mode.FORWARD)
    qtbot.waitUntil(lambda: len(got) >= 2, timeout=5000)
    window.controller.pause()
    qtbot.wait(150)
    n = len(got)
    qtbot.wait(250)
    assert len(got) <= n + 1  # paused
    # correct frame 10, ahead of the worker: queued, applied when the worker gets there
    m.set_current(10)
    canvas = window.editor.canvas
    canvas.set_brush_size(8)
    with qtbot.waitSignal(window.controller.queued_changed, timeout=2000) as sig:
        paint_stroke(canvas, [(80, 5), (90, 5)])
    assert sig.args[0] == [10]
    assert "queued" in window.status.queued.text()
    corrected = m.mask(10).copy()
    with qtbot.waitSignal(window.controller.run_finished, timeout=10000):
        window.controller.resume()
    assert 10 in fake.keys and np.array_equal(fake.keys[10], corrected)
    assert np.array_equal(m.mask(10), corrected) and np.array_equal(m.mask(11), corrected)


def test_save_and_reopen_resumes(window, qtbot, clip: Path, tiny_weights: Path) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    m = window.project.model
    _paint_square(window)
    m.objects.add("second")
    m.objects.rename(2, "dog")
    _run(window, qtbot)
    m.set_current(7)
    m.set_in_out(2, 9)
    masks = {f: m.mask(f).copy() for f in m.masks.frames()}
    ws = window.project.workspace.root
    window.close()
    win2 = MainWindow()
    qtbot.addWidget(win2)
    assert win2.open_path(ws)  # reopening the workspace folder alone
    m2 = win2.project.model
    assert [o.name for o in m2.objects] == ["Object 1", "dog"]
    assert m2.keyframes == {0} and m2.current == 7 and (m2.in_point, m2.out_point) == (2, 9)
    assert all(np.array_equal(m2.mask(f), a) for f, a in masks.items())
    assert len(m2.memlog) == N
    assert win2.project.settings.weights == str(tiny_weights)
    assert not list(ws.rglob("*.tmp"))  # atomic writes leave no temp files
    win2.close()


def test_export_every_format(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from app.export import Format
    from app.ui.export_dialog import build_job, export_in_thread

    m = window.project.model
    _paint_square(window)
    _run(window, qtbot)
    job = build_job(window.project, tmp_path / "out", list(Format))
    worker = export_in_thread(window, window.project, job)
    with qtbot.waitSignal(worker.succeeded, timeout=60000):
        pass
    out = tmp_path / "out"
    assert len(list((out / "palette").glob("*.png"))) == N
    back = np.asarray(Image.open(out / "palette" / "00000.png"))  # named after the source frame stem
    assert np.array_equal(back, m.mask(0))
    assert (out / "overlay.mp4").stat().st_size > 0 and (out / "cutout_alpha.mov").stat().st_size > 0
    assert len(list((out / "rgba").glob("*.png"))) == N


def test_open_video_errors_and_import(qtbot, video_clip: Path, tmp_path: Path) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    assert not win.open_path(bad)
    assert error_log() and error_log()[-1][0] == "Cannot open clip"
    assert win.open_path(video_clip)
    m = win.project.model
    assert m.n_frames == N and m.size == (H, W)
    wrong = tmp_path / "wrong.png"
    Image.fromarray(np.ones((10, 10), np.uint8) * 255).save(wrong)
    assert not win.import_mask(wrong)
    assert error_log()[-1][0] == "Cannot use mask" and m.masks.frames() == []
    good = tmp_path / "good.png"
    arr = np.zeros((H, W), np.uint8)
    arr[5:20, 5:20] = 3
    save_mask(good, arr)  # a DAVIS palette PNG
    assert win.import_mask(good)
    assert 3 in m.objects and m.is_keyframe(0) and (m.mask(0) == 3).sum() == 225
    win.close()


def test_actions_have_tooltips_and_shortcuts(window) -> None:  # noqa: ANN001
    acts = window.actions
    for name in ("undo", "redo", "play", "prev", "next", "prev10", "next10", "first", "last", "set_in", "set_out",
                 "prop_forward", "prop_backward", "prop_range", "prop_next", "export", "open"):
        assert acts[name].shortcuts(), name
        assert acts[name].toolTip(), name
    m = window.project.model
    acts["next10"].trigger()
    assert m.current == 10
    acts["prev"].trigger()
    acts["set_in"].trigger()
    acts["last"].trigger()
    acts["set_out"].trigger()
    assert (m.in_point, m.out_point) == (9, N - 1)
    acts["first"].trigger()
    assert m.current == 0
    menus = [a.text() for a in window.menuBar().actions()]
    assert {"&File", "&Edit", "&View", "&Propagate"} <= set(menus)
