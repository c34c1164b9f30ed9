"""Opening a long 1080p clip: "a 10,000-frame 1080p clip opens in seconds and never sits whole in RAM".

Generates (once, cached under /tmp/xmem_bench_open/) a 1920x1080 MPEG-4 clip of moving shapes (frames are built
directly in YUV 4:2:0, so generation costs little more than the encoder), plus a short clip of the same size for
comparison. Then, for each clip, a fresh Python process (offscreen Qt, like `python main.py open CLIP` before the
window is shown) measures:

  open_project_s  Project(clip, workspace): frame source + workspace + annotation model
  open_window_s   MainWindow().set_project(...): editor, canvas, timeline, panels (offscreen)
  frame_0_s / frame_mid_s / frame_last_s   model.current = N and the frame decoded (model.frame_image)
  rss_*_mib       resident set size after imports / after opening / peak (resource.getrusage ru_maxrss)

Prints a table and writes benchmarks/results/open_large.json. (Generating the 10,000-frame clip took 73 s on a busy
2-core machine; later runs reuse it.)

    python benchmarks/bench_open_large.py [--frames 10000] [--short 300]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CACHE = Path("/tmp/xmem_bench_open")
W, H = 1920, 1080


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: Path, n: int, fps: int = 25) -> float:
    """Encode `n` frames of moving shapes to `path` (skipped if it exists); returns seconds spent."""
    if path.exists():
        return 0.0
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part" + path.suffix)
    t0 = time.perf_counter()
    with av.open(str(tmp), "w") as out:
        st = out.add_stream("mpeg4", rate=fps)
        st.width, st.height, st.pix_fmt = W, H, "yuv420p"
        st.codec_context.gop_size = 250
        st.codec_context.thread_count = 1
        st.options = {"qscale": "31"}  # coarsest quantiser: the content does not matter, only the decode
        st.bit_rate = 400_000
        yy = np.arange(H)[:, None]
        xx = np.arange(W)[None, :]
        base = ((xx // 8 + yy // 8) % 64 + 60).astype(np.uint8)  # fixed gradient background
        buf = np.empty((H * 3 // 2, W), np.uint8)
        for i in range(n):
            buf[:H] = base
            buf[H:] = 128
            cx = int((W - 300) * (0.5 + 0.5 * np.sin(i / 40.0)))
            cy = int((H - 300) * (0.5 + 0.5 * np.cos(i / 55.0)))
            buf[cy:cy + 300, cx:cx + 300] = 220  # a bright square wandering around
            bx = (i * 7) % (W - 200)
            buf[700:900, bx:bx + 200] = 30  # a dark bar sliding right
            frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
            frame.pts = i
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    tmp.rename(path)
    return time.perf_counter() - t0


def child(clip: str, workspace: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    t0 = time.perf_counter()
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.project import Project

    qapp = QApplication.instance() or QApplication([])
    r: dict[str, float | int | str] = {"clip": clip, "import_s": time.perf_counter() - t0,
                                       "rss_imports_mib": _rss_mib()}
    t = time.perf_counter()
    project = Project(clip, workspace)
    r["open_project_s"] = time.perf_counter() - t
    r["n_frames"] = project.model.n_frames
    r["rss_after_project_mib"] = _rss_mib()
    t = time.perf_counter()
    win = MainWindow()
    win.set_project(project)
    win.resize(1400, 900)
    win.show()
    qapp.processEvents()
    r["open_window_s"] = time.perf_counter() - t
    r["open_total_s"] = r["open_project_s"] + r["open_window_s"]
    r["rss_after_open_mib"] = _rss_mib()
    m = project.model
    n = m.n_frames
    for key, f in (("frame_0", 0), ("frame_mid", n // 2), ("frame_last", n - 1), ("frame_back_10", 10)):
        t = time.perf_counter()
        m.set_current(f)
        img = m.frame_image(f)
        qapp.processEvents()
        r[f"{key}_s"] = time.perf_counter() - t
        r[f"{key}_index"] = f
        assert img.shape == (H, W, 3), img.shape
    r["rss_end_mib"] = _rss_mib()
    r["rss_peak_mib"] = _peak_mib()
    win.close_project()
    print("RESULT " + json.dumps(r), flush=True)


def measure(clip: Path) -> dict:
    ws = CACHE / (clip.stem + ".ws")
    if ws.exists():  # a fresh workspace each time: opening a clip for the first time is the case we measure
        import shutil

        shutil.rmtree(ws)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, __file__, "--child", str(clip), str(ws)], env=env, capture_output=True,
                       text=True, cwd=ROOT)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--short", type=int, default=300, help="frames of the comparison clip (0: skip)")
    ap.add_argument("--child", nargs=2, metavar=("CLIP", "WORKSPACE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    clips = [(args.frames, CACHE / f"long_{args.frames}_1080p.mp4")]
    if args.short:
        clips.append((args.short, CACHE / f"short_{args.short}_1080p.mp4"))
    gen = {}
    for n, path in clips:
        s = generate(path, n)
        gen[path.name] = round(s, 1) if s else "cached"
        how = f"generated in {s:.0f} s" if s else "cached"
        print(f"{path.name}: {how} ({path.stat().st_size / 2**20:.0f} MiB)")
    rows = [measure(path) for _, path in clips]
    cols = [("n_frames", "frames", "{:d}"), ("open_project_s", "project s", "{:.2f}"),
            ("open_window_s", "window s", "{:.2f}"), ("open_total_s", "open s", "{:.2f}"),
            ("frame_0_s", "frame 0 s", "{:.3f}"), ("frame_mid_s", "mid s", "{:.3f}"),
            ("frame_last_s", "last s", "{:.3f}"), ("frame_back_10_s", "back→10 s", "{:.3f}"),
            ("rss_imports_mib", "RSS imports", "{:.0f}"), ("rss_after_open_mib", "RSS open", "{:.0f}"),
            ("rss_peak_mib", "RSS peak MiB", "{:.0f}")]
    print("  ".join(f"{h:>12}" for _, h, _ in cols))
    for r in rows:
        print("  ".join(f"{fmt.format(r[k]):>12}" for k, _, fmt in cols))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"resolution": [W, H], "codec": "mpeg4 (gop 250)", "generation_s": gen, "runs": rows,
           "note": "fresh process per clip, offscreen Qt, fresh workspace; RSS from /proc/self/statm, "
                   "peak from resource.getrusage(RUSAGE_SELF).ru_maxrss"}
    (RESULTS / "open_large.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS / 'open_large.json'}")


if __name__ == "__main__":
    main()
