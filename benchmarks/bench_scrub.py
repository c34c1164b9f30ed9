"""Frame-step latency of the app window, idle and while a propagation delivers results (issue 17, defect 6).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_scrub.py                      # davis16-dev blackswan, mp4
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_scrub.py --folder             # the same clip as jpg frames

One step = Navigate ▸ Next frame, then the canvas repaints (what the user waits for). During the run an engine
stand-in delivers a full-size mask every `--delay` seconds (a CPU propagation's pace), so the GUI thread also
stores masks, updates the memory log and redraws the timeline, as in a real run; the network itself is left out
(it runs in its own thread). Prints the median and 90th percentile step time for both."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "davis16-dev"


@dataclass
class _Result:
    frame: int
    mask: np.ndarray
    stats: dict
    is_keyframe: bool


class PacedSession:
    """Stand-in for VideoSession: repeats the start mask, one frame every `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay, self.keys, self._cancel = delay, {}, threading.Event()

    def set_mask(self, frame: int, mask: np.ndarray) -> None:
        self.keys[frame] = mask.copy()

    def clear_mask(self, frame: int) -> None:
        self.keys.pop(frame, None)

    def cancel(self) -> None:
        self._cancel.set()

    def propagate(self, start, direction=1, stop=None, stop_at_keyframe=True, overwrite_keyframes=False,  # noqa: ANN001
                  start_mask=None):  # noqa: ANN001, ANN201
        self._cancel.clear()
        mask = start_mask if start_mask is not None else self.keys[start]
        f = start
        while not self._cancel.is_set() and f < 10_000:
            time.sleep(self.delay)
            yield _Result(f, mask.copy(), {"frame": f, "working_frames": 3, "working_elements": 4800,
                                           "working_capacity": 16000, "long_term_elements": 0,
                                           "long_term_capacity": 10000, "sensory_objects": 1,
                                           "events": [{"kind": "insert", "detail": {}}]}, f == start)
            f += direction


def make_mp4(folder: Path, out: Path) -> Path:
    import av
    from PIL import Image

    frames = sorted(folder.glob("*.jpg"))
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=24)
        first = np.asarray(Image.open(frames[0]).convert("RGB"))
        s.width, s.height, s.pix_fmt = first.shape[1], first.shape[0], "yuv420p"
        for p in frames:
            img = np.asarray(Image.open(p).convert("RGB"))
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return out


def steps(app, win, n: int, pause_s: float) -> list[float]:  # noqa: ANN001
    """Latency (ms) of `n` frame steps, one due every `pause_s` seconds inside the running event loop: from the
    moment a step is due (the key press) until the canvas has repainted. A GUI thread busy with other work (storing
    masks, redrawing the timeline) delays the step, and that delay counts, as it does for the user."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    out: list[float] = []
    loop = QEventLoop()
    start = time.perf_counter()

    def tick() -> None:
        due = start + (len(out) + 1) * pause_s
        win.actions["next"].trigger()
        win.editor.canvas.repaint()
        out.append((time.perf_counter() - due) * 1000)
        if len(out) >= n:
            loop.quit()

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(int(pause_s * 1000))
    loop.exec()
    timer.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", default="blackswan", help="davis16-dev clip name")
    p.add_argument("--folder", action="store_true", help="open the jpg frame folder instead of an mp4 made from it")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--delay", type=float, default=0.25, help="seconds per propagated frame")
    p.add_argument("--pause", type=float, default=0.15, help="seconds between two steps")
    p.add_argument("--engine", choices=("paced", "real"), default="paced",
                   help="paced: a stand-in delivering masks; real: the shipped network (size --size) on --device")
    p.add_argument("--size", type=int, default=480)
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["XMEM_APP_NO_DIALOGS"] = "1"
    os.environ.setdefault("XMEM_APP_CONFIG_DIR", tempfile.mkdtemp(prefix="xmem-bench-config-"))
    from PySide6.QtWidgets import QApplication

    from app.engine.plan import Mode
    from app.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="xmem-bench-scrub-"))
    frames = DATA / "JPEGImages" / args.clip
    clip = frames if args.folder else make_mp4(frames, tmp / f"{args.clip}.mp4")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    if not win.open_path(clip, tmp / "ws") or not win.import_mask(DATA / "Annotations" / args.clip / "00000.png"):
        print("cannot open the clip or its first mask", file=sys.stderr)
        return 1
    m = win.project.model
    idle = steps(app, win, args.steps, args.pause)
    m.set_current(0)
    win.actions["follow_run"].setChecked(False)
    if args.engine == "paced":
        win.controller._provider_override = lambda: PacedSession(args.delay)
    else:
        from dataclasses import replace

        win.apply_settings(replace(win.project.settings, size=args.size))
    assert win.propagate(Mode.FORWARD)
    while len(m.memlog) < 2:  # the run is under way (the real network has loaded)
        app.processEvents()
        time.sleep(0.01)
    m.set_current(0)
    busy = steps(app, win, args.steps, args.pause)
    delivered = len(m.memlog)
    win.controller.cancel()
    while win.controller.running:
        app.processEvents()
        time.sleep(0.01)
    kind = "frame folder" if args.folder else "mp4"
    print(f"{args.clip} ({kind}, {m.size[1]}×{m.size[0]}), {args.steps} steps, one every {args.pause:.2f} s, "
          f"engine {args.engine}")
    for name, t in (("idle", idle), (f"during a run ({delivered} masks delivered)", busy)):
        print(f"  {name:38s} median {statistics.median(t):6.1f} ms   p90 {np.percentile(t, 90):6.1f} ms   "
              f"max {max(t):6.1f} ms")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
