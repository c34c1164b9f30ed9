"""Long-video mode: a davis16-dev clip played back and forth to N frames; time/frame and memory every K frames.

The clip is mapped 0..n-1, n-2..1, 0.. by a FrameSource subclass (nothing held beyond a 2-frame cache), propagated
with our engine from the first annotation, and every --every frames the mean time per frame, the resident set size
(psutil), CUDA memory (allocated / peak, on CUDA) and the memory stores' sizes are printed. Writes JSON and a PNG
plot to benchmarks/results/. --lt-max / --mem-every make long-term memory fill (and evict) within short runs.

    python benchmarks/bench_long.py --model xmem-lite --frames 600 --lt-max 2000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_propagate import DATA, RESULTS, build_model, first_mask, load_average  # noqa: E402
from xmem_core.config import MemoryConfig  # noqa: E402
from xmem_core.inference.session import VideoSession  # noqa: E402
from xmem_core.io.base import FrameCache, FrameSource  # noqa: E402
from xmem_core.io.frames import open_frames  # noqa: E402
from xmem_core.io.masks import write_mask  # noqa: E402
from xmem_core.resources import DEFAULT_WEIGHTS  # noqa: E402


class BackAndForthSource(FrameSource):
    """`length` frames that play `base` forward, backward, forward, ... (0..n-1, n-2..1, 0..)."""

    def __init__(self, base: FrameSource, length: int) -> None:
        super().__init__(base.path)
        self.base = base
        self.length = length
        self._cache = FrameCache(max_items=2)  # the base source keeps its own small cache

    def source_index(self, index: int) -> int:
        n = len(self.base)
        if n == 1:
            return 0
        j = index % (2 * (n - 1))
        return j if j < n else 2 * (n - 1) - j

    def __len__(self) -> int:
        return self.length

    @property
    def size(self) -> tuple[int, int]:
        return self.base.size

    @property
    def names(self) -> list[str]:
        return [f"{i:06d}" for i in range(self.length)]

    def _read(self, index: int) -> np.ndarray:
        return self.base[self.source_index(index)]


def memory_row(frame: int, window: list[float], stats, config: MemoryConfig, device: torch.device) -> dict:
    """One report line: mean time/frame over the window, RSS, CUDA memory, store sizes."""
    cuda = device.type == "cuda"
    return {
        "frame": frame,
        "ms_per_frame": 1000 * float(np.mean(window)) if window else None,
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
        "cuda_mb": torch.cuda.memory_allocated() / 2**20 if cuda else None,
        "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "working_frames": stats.working_frames,
        "working_elements": stats.working_elements,
        "long_term_elements": stats.long_term_elements,
        "lt_max": config.LT_max,
    }


def run(args: argparse.Namespace) -> tuple[list[dict], dict]:
    """Propagate and collect rows; returns (rows, event counts)."""
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = MemoryConfig(**({"LT_max": args.lt_max} if args.lt_max else {}),
                          **({"r": args.mem_every} if args.mem_every else {}))
    source = BackAndForthSource(open_frames(DATA / "JPEGImages" / args.clip), args.frames)
    session = VideoSession(build_model(args.model), source, config, size=args.size, device=device,
                           precision=args.precision, profile=True)
    session.set_mask(0, first_mask(args.clip, args.objects))
    rows, window, events = [], [], {"consolidate": 0, "evict": 0, "insert": 0}
    gen = session.propagate(0, stop=args.frames - 1)
    for i in range(args.frames):
        t0 = time.perf_counter()
        res = next(gen)
        if device.type == "cuda":
            torch.cuda.synchronize()
        window.append(time.perf_counter() - t0)
        for e in res.stats.events:
            events[e.kind] = events.get(e.kind, 0) + 1
        if args.write_dir:
            write_mask(Path(args.write_dir) / f"{res.frame:06d}.png", res.mask)
        if (i + 1) % args.every == 0 or i == args.frames - 1:
            rows.append(memory_row(i + 1, window, res.stats, config, device))
            window = []
            print_row(rows[-1])
    return rows, events


def print_row(r: dict) -> None:
    cuda = f" cuda {r['cuda_mb']:8.1f} MB (peak {r['cuda_peak_mb']:8.1f})" if r["cuda_mb"] is not None else ""
    print(f"frame {r['frame']:6d}  {r['ms_per_frame']:8.1f} ms/frame  RSS {r['rss_mb']:7.1f} MB{cuda}  "
          f"WM {r['working_frames']:2d} frames  LT {r['long_term_elements']:6d} / {r['lt_max']}", flush=True)


def plot(rows: list[dict], path: Path, title: str) -> None:
    """time/frame (top); RSS with LT elements on a second axis and LT_max as a dashed line (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["frame"] for r in rows]
    fig, (ax_t, ax_m) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    ax_t.plot(x, [r["ms_per_frame"] for r in rows], "o-", color="tab:blue")
    ax_t.set_ylabel("ms / frame")
    ax_t.set_title(title)
    ax_m.plot(x, [r["rss_mb"] for r in rows], "o-", color="tab:green", label="RSS")
    if rows[0]["cuda_mb"] is not None:
        ax_m.plot(x, [r["cuda_mb"] for r in rows], "s-", color="tab:purple", label="CUDA allocated")
    ax_m.set_ylabel("MB")
    ax_m.set_xlabel("frame")
    ax_m.legend(loc="upper left")
    ax_lt = ax_m.twinx()
    ax_lt.plot(x, [r["long_term_elements"] for r in rows], "^-", color="tab:orange", label="LT elements")
    ax_lt.axhline(rows[0]["lt_max"], color="tab:red", linestyle="--", label="LT_max")
    ax_lt.set_ylabel("long-term elements")
    ax_lt.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(DEFAULT_WEIGHTS) if DEFAULT_WEIGHTS.is_file() else "xmem-lite",
                   help="weights file or preset xmem / xmem-lite (random weights); default: the shipped file")
    p.add_argument("--clip", default="blackswan")
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--objects", type=int, default=1)
    p.add_argument("--precision", default="auto", choices=["fp32", "mixed", "bf16", "fp16", "auto"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lt-max", type=int, default=0, help="override LT_max (default: the paper's 10000)")
    p.add_argument("--mem-every", type=int, default=0, help="override r (default: 5)")
    p.add_argument("--write-dir", type=Path, default=None, help="write the masks here (default: nowhere)")
    p.add_argument("--out", type=Path, default=None, help="JSON path; the PNG goes next to it")
    args = p.parse_args(argv)
    load0 = load_average()
    t0 = time.perf_counter()
    rows, events = run(args)
    wall = time.perf_counter() - t0
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"long_{Path(args.model).stem}_{args.frames}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, "wall_s": wall,
            "events": events, "cpus": os.cpu_count(), "load_average_before": load0,
            "load_average_after": load_average()}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    plot(rows, out.with_suffix(".png"), f"{Path(args.model).stem} {args.clip} back-and-forth, {args.size}p")
    print(f"events: {events}; wall {wall:.0f} s; load average {load0} -> {load_average()}\nwrote {out} (+ .png)")


if __name__ == "__main__":
    main()
