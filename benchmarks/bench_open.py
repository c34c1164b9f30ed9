"""Time `open_frames` (the checks it does at open: every folder frame's header, a video's demux-only count).

    python benchmarks/bench_open.py FOLDER_OR_VIDEO [...] [--reps 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xmem_core.io.frames import open_frames  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    for path in args.paths:
        times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            src = open_frames(path)
            n = len(src)
            times.append(time.perf_counter() - start)
            src.close()
        print(f"{path}: {n} frames, open {' '.join(f'{t:.3f}' for t in times)} s (first run includes a cold cache)")


if __name__ == "__main__":
    main()
