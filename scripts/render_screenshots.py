"""Render README screenshots of the main window offscreen: a real propagated clip and the memory timeline.

    python scripts/render_screenshots.py                       # bundled sample clip + shipped weights
    python scripts/render_screenshots.py --clip my.mp4 --mask first.png --weights XMem.pth

Writes docs/screenshots/: main_window.png (--window size), main_window_1366x768.png (a small laptop screen),
timeline.png, cutout_checker.png, matte_preview.png and export_dialog.png (feathered matte previewed on the
canvas), shortcuts.png (the F1 sheet) and empty_state.png. Runs with QT_QPA_PLATFORM=offscreen (set automatically
when no display is available).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", default=str(ROOT / "resources/sample/sample.mp4"))
    p.add_argument("--mask", default=str(ROOT / "resources/sample/first_mask.png"), help="mask of frame 0")
    p.add_argument("--weights", default=None, help="weights file (default: shipped)")
    p.add_argument("--out", default=str(ROOT / "docs/screenshots"))
    p.add_argument("--size", type=int, default=240, help="processing resolution (short side)")
    p.add_argument("--frames", type=int, default=36, help="propagate this many frames (in/out range); 0: all")
    p.add_argument("--frame", type=int, default=-1, help="frame to show (default: two thirds in)")
    p.add_argument("--window", default="1500x940", help="main window size WxH for main_window.png")
    args = p.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["XMEM_APP_NO_DIALOGS"] = "1"
    os.environ.setdefault("XMEM_APP_CONFIG_DIR", tempfile.mkdtemp(prefix="xmem-app-config-"))

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.engine.plan import Mode
    from app.main_window import MainWindow
    from app.render import OverlayMode
    from app.settings import EngineSettings
    from app.ui.dialogs import error_log

    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = MainWindow()
    ww, wh = (int(v) for v in args.window.lower().split("x"))
    win.resize(ww, wh)
    ws = Path(tempfile.mkdtemp(prefix="xmem-shot-ws-"))
    if not win.open_path(args.clip, ws):
        print("cannot open clip:", error_log()[-1:], file=sys.stderr)
        return 1
    m = win.project.model
    m.objects.rename(m.objects.ids()[0], "subject")
    if not win.import_mask(args.mask):
        print("cannot import mask:", error_log()[-1:], file=sys.stderr)
        return 1
    for obj_id in m.objects.ids():
        if m.objects.get(obj_id).name.startswith("Object"):
            m.objects.rename(obj_id, f"object {obj_id}")
    win.apply_settings(EngineSettings(r=3, T_min=3, T_max=8, P=64, LT_max=640, top_k=30, size=args.size,
                                      weights=args.weights))
    win.show()
    loop = QEventLoop()
    win.controller.run_finished.connect(lambda _s: loop.quit())
    t0 = time.perf_counter()
    if args.frames > 0:
        m.set_in_out(0, min(m.n_frames, args.frames) - 1)
    if not win.propagate(Mode.RANGE):
        print("cannot propagate:", error_log()[-1:], file=sys.stderr)
        return 1
    loop.exec()
    print(f"propagated {len(m.masks)} frames in {time.perf_counter() - t0:.1f}s "
          f"({win.controller.last_status})")
    last = m.out_point if m.out_point is not None else m.n_frames - 1
    frame = args.frame if args.frame >= 0 else (2 * last) // 3
    m.set_current(frame)
    win.editor.timeline.redraw()
    for _ in range(10):
        app.processEvents()
        QTimer.singleShot(20, lambda: None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    win.editor.canvas.fit()
    app.processEvents()
    win.grab().save(str(out / "main_window.png"))
    win.editor.timeline.grab().save(str(out / "timeline.png"))
    win._set_mode(OverlayMode.CHECKER.value)
    app.processEvents()
    win.editor.canvas.grab().save(str(out / "cutout_checker.png"))
    win._set_mode(OverlayMode.BLEND.value)
    _extra_shots(app, win, out)
    print("wrote", ", ".join(str(p) for p in sorted(out.glob("*.png"))))
    win.close()
    return 0


def _settle(app) -> None:  # noqa: ANN001
    for _ in range(5):
        app.processEvents()


def _extra_shots(app, win, out: Path) -> None:  # noqa: ANN001
    """The export dialog with a feathered matte previewed on the canvas, the F1 sheet, a 1366×768 window with a
    locked object, and the empty state."""
    from app.main_window import MainWindow
    from app.ui.help import ShortcutsDialog

    win.export_dialog()
    dlg = win._export_dlg
    dlg.grow.setValue(2)
    dlg.feather.setValue(6)
    dlg.temporal.setValue(1)
    dlg.preview.setChecked(True)
    dlg.show()
    _settle(app)
    dlg.grab().save(str(out / "export_dialog.png"))
    win.editor.canvas.grab().save(str(out / "matte_preview.png"))
    dlg.reject()
    sheet = ShortcutsDialog(win.actions, win)
    sheet.show()
    sheet.search.setText("propagate")
    _settle(app)
    sheet.grab().save(str(out / "shortcuts.png"))
    sheet.close()
    m = win.project.model
    m.objects.set_locked(m.objects.ids()[-1], True)
    win.resize(1366, 768)
    _settle(app)
    win.editor.canvas.fit()
    _settle(app)
    win.grab().save(str(out / "main_window_1366x768.png"))
    print(f"1366x768 request: window is {win.width()}x{win.height()}")
    empty = MainWindow()
    empty.resize(1366, 768)
    empty.show()
    _settle(app)
    empty.grab().save(str(out / "empty_state.png"))
    empty.close()


if __name__ == "__main__":
    raise SystemExit(main())
