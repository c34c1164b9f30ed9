"""Item 8: matte objects and edge controls in the export dialog, previewed on the canvas, named after the source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from app.export import Format
from app.ui.canvas import Tool
from tests.app.helpers import paint_stroke


def _paint(win, obj_points) -> None:  # noqa: ANN001
    canvas = win.editor.canvas
    canvas.set_tool(Tool.BRUSH)
    canvas.set_brush_size(10)
    paint_stroke(canvas, obj_points)


def _qimage_rgb(canvas) -> np.ndarray:  # noqa: ANN001
    img = canvas._qimage
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, : 3 * img.width()].reshape(img.height(), img.width(), 3).copy()


def test_export_dialog_matte_objects_edges_preview_and_names(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    m = window.project.model
    _paint(window, [(15, 25), (25, 30), (30, 38)])
    m.objects.add("second")
    _paint(window, [(70, 8), (80, 8)])
    assert set(np.unique(m.mask(0))) == {0, 1, 2}
    window.actions["export"].trigger()
    dlg = window._export_dlg
    assert dlg.matte_objects() == [1, 2]
    dlg.matte_list.item(1).setCheckState(dlg.matte_list.item(1).checkState().__class__.Unchecked)
    assert dlg.matte_objects() == [1]
    canvas = window.editor.canvas
    before = _qimage_rgb(canvas)
    dlg.preview.setChecked(True)
    dlg.feather.setValue(4)
    dlg.grow.setValue(2)
    assert canvas.matte_preview is not None and canvas.matte_preview[0].feather == 4
    shown = _qimage_rgb(canvas)
    assert not np.array_equal(before, shown)
    frame = m.frame_image(0).astype(int)
    inside, far = shown[30, 22].astype(int), shown[60, 2].astype(int)
    assert np.abs(inside - frame[30, 22]).max() <= 1  # the cutout shows the frame inside the matte
    assert np.abs(far - frame[60, 2]).max() > 5  # and the checkerboard outside
    assert np.abs(shown[8, 75].astype(int) - frame[8, 75]).max() > 5  # object 2 is not in the matte
    dlg.out.setText(str(tmp_path / "out"))
    for f, cb in dlg.checks.items():
        cb.setChecked(f in (Format.ALPHA, Format.PALETTE))
    with qtbot.waitSignal(dlg.finished_export, timeout=30000):
        dlg.start()
    assert canvas.matte_preview is None  # closing the dialog ends the preview
    alpha = np.asarray(Image.open(tmp_path / "out" / "alpha" / "00000.png"))  # source stem, not 000000
    assert alpha[30, 22] == 255 and alpha[8, 75] == 0
    assert len(np.unique(alpha)) > 5  # feathered, not 0/255
    assert sorted(p.name for p in (tmp_path / "out" / "palette").iterdir())[:2] == ["00000.png", "00001.png"]


def test_video_export_uses_container_timecode(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    import av

    from app.main_window import MainWindow
    from app.ui.export_dialog import project_stems
    from tests.app.conftest import make_frames

    path = tmp_path / "tc.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        s.metadata["timecode"] = "01:00:00:20"
        for f in make_frames(6):
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.open_path(path, tmp_path / "ws")
    assert project_stems(win.project)[:6] == ["01_00_00_20", "01_00_00_21", "01_00_00_22", "01_00_00_23",
                                              "01_00_00_24", "01_00_01_00"]
    win.close()
