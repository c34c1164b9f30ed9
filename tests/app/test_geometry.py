"""Issue 17 defect 1: no readout sets the window's minimum width, and the default window fits the screen
(checked at 1280×720 with a long timeline header)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect

from app.ui import geometry

LONG_EVENTS = [{"kind": "add_objects", "detail": {"ids": [1, 2, 3]}}, {"kind": "deep_update", "detail": {}},
               {"kind": "insert", "detail": {}}, {"kind": "consolidate", "detail": {"candidates": 16200,
                                                                                   "prototypes": 128}},
               {"kind": "evict", "detail": {"removed": 4096}}, {"kind": "remove_objects", "detail": {"ids": [2]}},
               {"kind": "reset", "detail": {"by": "user"}}]


def _long_header(m) -> None:  # noqa: ANN001
    """Frame 0 gets a header like the one that pushed the window to 1850 px."""
    m.memlog.record({"frame": 0, "working_frames": 1, "working_elements": 1620, "working_capacity": 16200,
                     "long_term_elements": 12345, "long_term_capacity": 10000, "sensory_objects": 3,
                     "events": LONG_EVENTS * 2}, 0)


def test_long_header_never_widens_the_window(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _long_header(m)
    tl = window.editor.timeline
    tl.redraw()
    m.set_current(0)
    window.resize(1280, 720)
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= 1280
    qtbot.wait(50)
    assert window.width() <= 1280
    assert "events: add_objects" in tl.header.text()
    assert window.status.geometry().right() <= window.width()  # frames/s, ETA and progress stay on screen
    docks = (window.objects_dock.width(), window.memory_dock.width(), window.editor.canvas.width())
    for f in (1, 0, 5, 0):  # scrubbing between long and short headers moves nothing
        m.set_current(f)
        qtbot.wait(20)
        assert (window.objects_dock.width(), window.memory_dock.width(), window.editor.canvas.width()) == docks
    window.status.queued.setText("queued corrections: " + ", ".join(str(i) for i in range(400)))
    window.status.cursor.setText("x 12, y 40 · " + "a very long object name " * 20)
    qtbot.wait(20)
    assert window.width() <= 1280 and window.minimumSizeHint().width() <= 1280


def test_default_geometry_fits_the_screen(qtbot, monkeypatch, clip: Path) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    for w, h in ((1280, 720), (1366, 768)):
        g = geometry.default_geometry(QRect(0, 0, w, h))
        assert QRect(0, 0, w, h).contains(g) and g.width() >= 0.9 * w
    assert geometry.default_geometry(QRect(0, 0, 2560, 1440)).size().toTuple() == geometry.PREFERRED
    monkeypatch.setattr(geometry, "available_geometry", lambda _w: QRect(0, 0, 1280, 720))
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.open_path(clip, clip.parent / "ws")
    _long_header(win.project.model)
    win.editor.timeline.redraw()
    win.show()
    qtbot.waitExposed(win)
    assert win.width() <= 1280 and win.height() <= 720
    win.close()
