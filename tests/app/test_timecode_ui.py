"""Item 10: timecode beside frame numbers in the transport and timeline; go-to-frame takes both."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.app.conftest import make_frames


def _tc_video(path: Path, tc: str = "01:00:00:20") -> Path:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        s.metadata["timecode"] = tc
        for f in make_frames(12):
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _type(spin, text: str) -> None:  # noqa: ANN001
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin.lineEdit(), text)
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def test_timecode_in_transport_and_timeline(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    assert win.open_path(_tc_video(tmp_path / "tc.mp4"), tmp_path / "ws")
    win.show()
    qtbot.waitExposed(win)
    tr, tl, m = win.editor.transport, win.editor.timeline, win.project.model
    assert tr.tc_label.isVisible() and tr.tc_label.text() == "TC 01:00:00:20"
    m.set_current(7)
    assert tr.tc_label.text() == "TC 01:00:01:02"
    assert tl.frame_text(7).startswith("Frame 7 (01:00:01:02)")
    _type(tr.spin, "01:00:00:23")  # a timecode
    assert m.current == 3
    _type(tr.spin, "9")  # a frame number
    assert m.current == 9
    _type(tr.spin, "02:00:00:00")  # outside the clip: ignored
    assert m.current == 9
    win.close()


def test_frame_folder_has_no_timecode(window) -> None:  # noqa: ANN001
    tr = window.editor.transport
    assert not tr.tc_label.isVisible() and tr.timecode is None
    _type(tr.spin, "5")
    assert window.project.model.current == 5
    assert window.editor.timeline.frame_text(5).startswith("Frame 5 ·")
