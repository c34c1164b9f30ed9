"""Model quality: J, F and J&F of weights files on a DAVIS-layout set (davis16-dev), per clip and processing size.

Every clip is propagated from its first-frame mask through all its frames with the engine (`VideoSession`, the
same path as `main.py propagate`), and every frame but the first is scored (`xmem_core.metrics.davis`, the same
metric as `main.py eval`). Prints one table per size and writes JSON; this is how candidates for the shipped weights
are compared (resources/weights/MODEL_CARD.md).

    python benchmarks/bench_quality.py --models resources/weights/xmem-lite.pth ../shared/weights/xmem-lite-gpu1.pth \
        --sizes 480 --out benchmarks/results/quality.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xmem_core.inference.session import VideoSession  # noqa: E402
from xmem_core.io.frames import open_frames  # noqa: E402
from xmem_core.io.masks import read_mask, write_mask  # noqa: E402
from xmem_core.metrics.davis import evaluate_folders  # noqa: E402
from xmem_core.model.checkpoint import load_model  # noqa: E402

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis16-dev"


def propagate_clip(net: torch.nn.Module, root: Path, clip: str, out: Path, size: int, precision: str) -> int:
    """Propagate `clip`'s first-frame mask through every frame; write palette PNGs to out/<clip>; return frames."""
    frames = open_frames(root / "JPEGImages" / clip)
    first = sorted((root / "Annotations" / clip).glob("*.png"))[0]
    session = VideoSession(net, frames, size=size, precision=precision)
    session.set_mask(0, read_mask(first, size=tuple(frames.size)))
    (out / clip).mkdir(parents=True, exist_ok=True)
    for res in session.propagate(0, stop=len(frames) - 1):
        write_mask(out / clip / f"{frames.names[res.frame]}.png", res.mask)
    return len(frames)


def score(weights: str, root: Path, clips: list[str], size: int, precision: str) -> dict:
    """Scores of one weights file at one size: {'J', 'F', 'JF', 'clips': {clip: {J, F, JF}}, 'seconds', ...}."""
    net = load_model(weights)
    tmp = Path(tempfile.mkdtemp(prefix="xmem-quality-"))
    t0 = time.perf_counter()
    try:
        frames = sum(propagate_clip(net, root, c, tmp / "pred", size, precision) for c in clips)
        gt = tmp / "gt"
        gt.mkdir()
        for c in clips:
            (gt / c).symlink_to((root / "Annotations" / c).resolve())
        result = evaluate_folders(tmp / "pred", gt)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per_clip = {c.clip: {"J": 100 * c.J, "F": 100 * c.F, "JF": 100 * c.JF} for c in result.clips}
    return {"weights": weights, "size": size, "precision": precision, "J": 100 * result.J, "F": 100 * result.F,
            "JF": 100 * result.JF, "clips": per_clip, "frames": frames, "seconds": time.perf_counter() - t0}


def print_table(rows: list[dict], clips: list[str]) -> None:
    """One row per (weights, size): J&F per clip, then mean J / F / J&F."""
    head = ["weights", "size", *clips, "J", "F", "J&F", "s"]
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        cells = [os.path.relpath(r["weights"]), str(r["size"]), *(f"{r['clips'][c]['JF']:.1f}" for c in clips),
                 f"{r['J']:.1f}", f"{r['F']:.1f}", f"**{r['JF']:.1f}**", f"{r['seconds']:.0f}"]
        print(" | ".join(cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["resources/weights/xmem-lite.pth"], help="weights files")
    ap.add_argument("--root", default=str(DEFAULT_ROOT), help="DAVIS-layout folder (JPEGImages/, Annotations/)")
    ap.add_argument("--clips", nargs="*", default=None, help="clip names (default: all)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[480], help="processing short sides")
    ap.add_argument("--precision", default="auto", help="engine precision (auto|fp32|mixed|bf16)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--out", default="", help="write all rows as JSON here")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    root = Path(args.root)
    clips = args.clips or sorted(d.name for d in (root / "JPEGImages").iterdir() if d.is_dir())
    rows = []
    for size in args.sizes:
        for weights in args.models:
            rows.append(score(weights, root, clips, size, args.precision))
            print(f"{weights} @ {size}: J&F {rows[-1]['JF']:.1f} ({rows[-1]['seconds']:.0f} s)", flush=True)
    print_table(rows, clips)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                                              "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
