"""Memory timeline lanes (masks / working memory / long-term), hover numbers, click-to-seek; memory panel CUDA probe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF

from app.model.memlog import MemoryLog
from app.project import Project
from app.ui.timeline import MemoryTimeline, _compact, runs, t_max_frames, value_runs
from tests.app.conftest import N

HW = 24


def _fill_log(log: MemoryLog) -> None:
    """Frames 0..N-1: an insertion every 2nd frame, consolidation at T_max=4, an eviction at frame 9."""
    wf, lt = 0, 0
    for f in range(N):
        ev = []
        if f % 2 == 0:
            wf += 1
            ev.append({"kind": "insert", "detail": {}})
        if wf >= 4:
            ev.append({"kind": "consolidate", "detail": {"candidates": 3 * HW, "prototypes": 8}})
            lt, wf = lt + 8, 2
        if f == 9:
            ev.append({"kind": "evict", "detail": {"removed": 4}})
            lt -= 4
        log.record({"frame": f, "working_frames": wf, "working_elements": wf * HW, "working_capacity": 4 * HW,
                    "long_term_elements": lt, "long_term_capacity": 16, "sensory_objects": 1, "events": ev})


def test_helpers() -> None:
    assert runs([0, 1, 2, 5, 6, 9]) == [(0, 3), (5, 2), (9, 1)]
    x0, w, v = value_runs(np.array([0, 1, 2, 3, 5, 6]), np.array([1, 1, 2, 2, 2, 3]))
    assert x0.tolist() == [0, 2, 5, 6] and w.tolist() == [2, 2, 1, 1] and v.tolist() == [1, 2, 2, 3]
    assert [a.size for a in value_runs(np.array([]), np.array([]))] == [0, 0, 0]
    assert _compact(950) == "950" and _compact(10_000) == "10k" and _compact(1500) == "1.5k"
    log = MemoryLog()
    assert t_max_frames(log) is None
    _fill_log(log)
    assert t_max_frames(log) == 4


def test_lanes_and_markers(qtbot, clip: Path) -> None:  # noqa: ANN001
    project = Project(clip, clip.parent / "ws")
    m = project.model
    tl = MemoryTimeline(m)
    qtbot.addWidget(tl)
    tl.resize(800, 220)
    tl.show()
    qtbot.waitExposed(tl)
    _fill_log(m.memlog)
    m.memlog.add_reset(5)
    m.memlog.add_event(7, "adapt", {"steps": 12, "seconds": 30.0})
    tl.redraw()
    assert tl.t_max == 4
    # working memory: bars of frames held (one bar per run), up to T_max
    heights = tl.wm_bars.opts["height"]
    assert len(heights) and max(heights) <= 4 and tl.wm_cap.value() == 4 and tl.wm_cap.isVisible()
    assert tl.wm.viewRange()[1][1] >= 4
    # long-term: its own lane and axis, 0..LT_max, the dashed line at LT_max, labelled on the axis
    xs, ys = tl.lt_curve.getData()
    assert len(xs) == N and ys.max() <= 16
    assert tl.lt_line.value() == 16 and tl.lt_line.isVisible()
    lo, hi = tl.lt.viewRange()[1]
    assert lo == 0 and 16 < hi < 16 * 1.5
    ticks = dict(tl.lt.getAxis("left")._tickLevels[0])
    assert ticks[16].startswith("LT_max")
    # markers on their lanes
    counts = {k: len(item.getData()[0]) for k, item in tl.event_items.items()}
    assert counts == {"insert": N // 2, "consolidate": sum(1 for _, k, _ in m.memlog.events() if k == "consolidate"),
                      "evict": 1, "reset": 1, "adapt": 1}
    assert tl.event_items["insert"] in tl.wm.items and tl.event_items["consolidate"] in tl.lt.items
    assert tl.event_items["evict"].getData()[1][0] > 16  # just above the LT_max line
    # the frame's numbers
    txt = tl.frame_text(9)
    assert "Frame 9" in txt and "WM " in txt and "/4 frames" in txt and "LT " in txt and "/ 16" in txt
    assert "evict (−4)" in txt
    assert "adapted (12 steps, 30 s)" in tl.frame_text(7)
    nums = tl.frame_numbers(9)
    assert nums["t_max"] == 4 and nums["long_term_capacity"] == 16
    project.close()


def test_hover_and_click_seek(qtbot, clip: Path) -> None:  # noqa: ANN001
    project = Project(clip, clip.parent / "ws")
    m = project.model
    _fill_log(m.memlog)
    tl = MemoryTimeline(m)
    qtbot.addWidget(tl)
    tl.resize(800, 220)
    tl.show()
    qtbot.waitExposed(tl)
    tl.redraw()
    r = tl.wm.vb.sceneBoundingRect()
    target = 7
    x = r.left() + (target + 0.5) / N * r.width()
    pos = QPointF(x, r.center().y())
    assert tl._frame_at_scene(pos, tl.wm) == target
    tl._on_hover(pos, tl.wm)
    assert "hover" in tl.header.text() and f"Frame {target}" in tl.header.text()
    assert all(h.isVisible() and h.value() == target for h in tl.hover_lines)

    class _Click:
        def scenePos(self) -> QPointF:  # noqa: N802
            return pos

    with qtbot.waitSignal(tl.seek) as blocker:
        tl._on_click(_Click(), tl.wm)
    assert blocker.args == [target]
    # all lanes share the frame axis (the slider aligns with it)
    spans = {(round(p.vb.sceneBoundingRect().left()), round(p.vb.sceneBoundingRect().right())) for p in tl.lanes}
    assert len(spans) == 1
    # leaving the timeline hides the hover line and shows the current frame again
    tl.leaveEvent(None)
    assert not any(h.isVisible() for h in tl.hover_lines) and "hover" not in tl.header.text()
    project.close()


def test_lane_scaling_words_and_resizing(qtbot, clip: Path) -> None:  # noqa: ANN001
    """Real use (128 elements) against LT_max 10,000 fills the lane instead of lying flat; lanes resize."""
    from app.ui.timeline import lane_top

    assert lane_top(128, 10_000) == (128, False)
    assert lane_top(16, 16) == (16, True) and lane_top(3000, 8000) == (8000, True)
    assert lane_top(0, None) == (1, False)
    project = Project(clip, clip.parent / "ws")
    m = project.model
    for f in range(N):
        m.memlog.record({"frame": f, "working_frames": 2, "working_elements": 48, "working_capacity": 96,
                         "long_term_elements": 128 * f // (N - 1), "long_term_capacity": 10_000, "events": []})
    tl = MemoryTimeline(m)
    qtbot.addWidget(tl)
    tl.resize(800, 260)
    tl.show()
    qtbot.waitExposed(tl)
    tl.redraw()
    lo, hi = tl.lt.viewRange()[1]
    assert 128 < hi < 200  # scaled to the 128 elements used
    assert not tl.lt_line.isVisible() and not tl.lt_cap_in_view
    labels = [t for _, t in tl.lt.getAxis("left")._tickLevels[0]]
    assert "128 used" in labels
    titles = [t.toPlainText() for t in tl.lane_titles]
    assert titles == ["working memory · frames held",
                      "long-term memory · elements (LT_max 10 000 is above this scale)"]
    assert tl.lt.getAxis("bottom").labelText == "frame"
    # the header and legend never set a minimum width, however long the frame's line is
    tl.header.setText("Frame 9 · " + "events: add_objects, deep_update, insert · " * 6)
    assert tl.minimumSizeHint().width() < 300
    # resizable lanes: the splitter gives the long-term lane more room
    before = tl.views[2].height()
    sizes = tl.splitter.sizes()
    tl.splitter.setSizes([sizes[0], sizes[1] - 20, sizes[2] + 20])
    qtbot.waitUntil(lambda: tl.views[2].height() > before)
    project.close()


def test_memory_panel_cuda_probe(qtbot, monkeypatch) -> None:  # noqa: ANN001
    from app.settings import EngineSettings
    from app.ui import memory_panel

    monkeypatch.setattr(memory_panel, "cuda_hint", lambda: None)  # unknown: answered later by the probe
    monkeypatch.setattr(memory_panel.CudaProbe, "instance", classmethod(lambda cls: _FakeProbe))
    panel = memory_panel.MemoryPanel(EngineSettings(device="cuda"))
    qtbot.addWidget(panel)
    assert panel.device.currentData() == "cuda"  # the saved choice is kept while the probe runs
    panel._on_cuda(False)
    assert panel.device.findData("cuda") < 0 and panel.device.currentData() == "cpu"
    assert panel.settings.device == "cuda"  # not rewritten behind the user's back
    panel._on_cuda(True)
    assert panel.device.currentData() == "cuda"


class _FakeProbe:
    class done:  # noqa: N801
        @staticmethod
        def connect(_slot) -> None:  # noqa: ANN001
            pass
