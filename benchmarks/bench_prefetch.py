"""Where frames are prepared on the CPU: in the prefetch thread (`prepare_ahead=True`) or in the inference thread.

The prefetch thread always decodes ahead. Preparing there too (uint8 -> float, normalise, pad: torch ops) runs a
second OpenMP team beside the inference's; this script measures what that costs. The two settings alternate for
`--reps` rounds in one process (one network, fresh sessions), so drift of the machine hits both alike; the table
gives each setting's median ms per frame and the median of the paired ratios.

    python benchmarks/bench_prefetch.py --models resources/weights/xmem-lite.pth xmem --reps 6 \\
        --out benchmarks/results/prefetch.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_propagate import DATA, build_model, display_model, first_mask  # noqa: E402
from xmem_core.inference.session import VideoSession  # noqa: E402
from xmem_core.io.frames import open_frames  # noqa: E402

SETTINGS = {"prepare ahead (thread)": True, "prepare here (default on CPU)": False}


def ms_per_frame(net, clip: str, precision: str, frames: int, warmup: int, ahead: bool) -> float:
    """Mean wall ms per frame over frames warmup..frames-1 of one propagation (one object)."""
    session = VideoSession(net, open_frames(DATA / "JPEGImages" / clip), precision=precision, prepare_ahead=ahead)
    session.set_mask(0, first_mask(clip, 1))
    gen = session.propagate(0, stop=frames - 1)
    for _ in range(warmup):
        next(gen)
    t0 = time.perf_counter()
    n = sum(1 for _ in gen)
    return 1000 * (time.perf_counter() - t0) / n


def run(model: str, args: argparse.Namespace) -> dict:
    net = build_model(model)
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(args.reps):
        for name, ahead in SETTINGS.items():
            times[name].append(ms_per_frame(net, args.clip, args.precision, args.frames, args.warmup, ahead))
    t_ahead, t_here = times.values()  # in SETTINGS order
    ratios = [x / y for x, y in zip(t_ahead, t_here, strict=True)]
    return {"model": display_model(model), "ms_per_frame": times,
            "median_ms": {k: statistics.median(v) for k, v in times.items()},
            "median_ratio": statistics.median(ratios), "rounds_here_faster": sum(r > 1 for r in ratios)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=[str(ROOT / "resources" / "weights" / "xmem-lite.pth")],
                   help="weights files, or presets (xmem, xmem-lite) with random weights")
    p.add_argument("--precision", default="mixed")
    p.add_argument("--clip", default="blackswan")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--reps", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.frames <= args.warmup + 1:
        sys.exit("error: --frames must exceed --warmup + 1")
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    rows = [run(m, args) for m in args.models]
    print(f"\nframe preparation on the CPU ({args.precision}, {args.threads} threads, {args.clip}, "
          f"frames {args.warmup}..{args.frames - 1}, {args.reps} alternating rounds)")
    print("| model | " + " | ".join(f"{k}, median ms" for k in SETTINGS) + " | ahead / here (median of rounds) | "
          "rounds where here was faster |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        cells = " | ".join(f"{r['median_ms'][k]:.1f}" for k in SETTINGS)
        print(f"| {Path(r['model']).stem} | {cells} | {r['median_ratio']:.3f} | {r['rounds_here_faster']} of "
              f"{args.reps} |")
    if args.out:
        meta = {k: getattr(args, k) for k in ("precision", "clip", "frames", "warmup", "reps", "threads")}
        meta.update(torch=torch.__version__, load_before=load_before, load_after=os.getloadavg())
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
