"""Render README screenshots of the main window offscreen: a real propagated clip and the memory timeline.

    python scripts/render_screenshots.py                       # bundled sample clip + shipped weights
    python scripts/render_screenshots.py --clip my.mp4 --mask first.png --weights XMem.pth

Writes docs/screenshots/main_window.png, timeline.png and modes.png. Runs with QT_QPA_PLATFORM=offscreen
(set automatically when no display is available).
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
    win.resize(1500, 940)
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
    print("wrote", ", ".join(str(p) for p in sorted(out.glob("*.png"))))
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
