"""Open, propagate, cancel, undo and quit the real window many times, each in a fresh process (tests/app/test_quit.py):

    python -m tests.app.quit_cycle CLIP WORKSPACE WEIGHTS [CYCLES]

Qt, torch and the app are imported once; every cycle then runs in a forked child that builds its own QApplication
and window, opens the clip, paints, propagates with the (tiny) network, cancels, undoes the run, scrubs, quits
through File ▸ Quit and leaves through the same event loop and teardown as `main.py open`, then the interpreter
finalizes as it does at a real quit. A crash there ends the child with a signal or a non-zero status. Prints one
line per cycle; exits 1 if any cycle failed."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XMEM_APP_NO_DIALOGS"] = "1"

SCRUB_STEPS = 40  # frame steps after the run (each one updates the transport, canvas, timeline and actions)


def _wait(signal, timeout_ms: int = 60000) -> None:  # noqa: ANN001
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def scenario(win) -> None:  # noqa: ANN001
    """Runs inside the event loop; ends by triggering File ▸ Quit."""
    from PySide6.QtWidgets import QApplication

    from app.engine.plan import Mode
    from app.ui.canvas import Tool
    from tests.app.helpers import paint_stroke

    canvas = win.editor.canvas
    win.project.model.set_current(0)
    canvas.set_tool(Tool.BRUSH)
    canvas.set_brush_size(10)
    paint_stroke(canvas, [(15, 25), (25, 30), (30, 38)])
    c = win.controller
    c.frame_processed.connect(lambda _f: c.cancel())
    if win.propagate(Mode.FORWARD):
        _wait(c.run_finished)
    if c.last_status not in ("cancelled", "done"):
        print(f"run ended with {c.last_status!r}", file=sys.stderr)
        QApplication.exit(3)
        return
    win.actions["undo"].trigger()
    for i in range(SCRUB_STEPS):
        win.actions["next" if (i // 10) % 2 == 0 else "prev"].trigger()
        QApplication.processEvents()
    win.actions["quit"].trigger()


def cycle(clip: str, workspace: str, weights: str) -> int:
    """One application session, as `main.py open CLIP` runs it; returns its exit code."""
    from pathlib import Path

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.cli import exec_window
    from app.main_window import MainWindow
    from app.qt_runtime import protect_singletons
    from tests.app.conftest import small_settings

    protect_singletons()
    app = QApplication(sys.argv[:1])
    win = MainWindow()
    win.resize(900, 600)
    win.show()
    if not win.open_path(clip, workspace):
        return 2
    win.apply_settings(small_settings(Path(weights)))
    QTimer.singleShot(0, lambda: scenario(win))
    return exec_window(app, win)


def main(argv: list[str]) -> int:
    clip, workspace, weights = argv[:3]
    cycles = int(argv[3]) if len(argv) > 3 else 20
    import torch  # imported once here, inherited by every cycle

    torch.set_num_threads(1)  # the tiny network needs no thread team (and 2 cores are shared)

    import app.main_window  # noqa: F401
    import xmem_core.inference.session  # noqa: F401
    import xmem_core.model.checkpoint  # noqa: F401

    failed = 0
    for i in range(cycles):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child returns through the interpreter's normal exit, finalization included
            sys.exit(cycle(clip, workspace, weights))
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        failed += code != 0
        print(f"cycle {i + 1}: exit {code}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
