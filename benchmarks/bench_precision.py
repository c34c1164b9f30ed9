"""Mask agreement and speed of the fast paths (mixed / bf16 on the CPU, fp16 on CUDA) against fp32 on davis16-dev.

For each clip the engine propagates the first-frame mask with fp32, then with each fast precision, and the script
reports the mean IoU between the fp32 and fast mask sequences (all frames but the first, per object, background
excluded, averaged over frames), each precision's J&F against the ground truth, and its frames/s over the whole
clip. Prints a table and writes JSON.

    python benchmarks/bench_precision.py --model resources/weights/xmem-lite.pth --fast mixed bf16
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from xmem_core.config import MemoryConfig
from xmem_core.inference.session import VideoSession
from xmem_core.io.frames import open_frames
from xmem_core.io.masks import read_mask
from xmem_core.metrics.davis import object_scores, region_similarity
from xmem_core.model import winograd
from xmem_core.model.checkpoint import load_model
from xmem_core.resources import default_weights

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis16-dev"  # ../shared/data beside the repo


def propagate(model, clip: Path, precision: str, size: int, max_frames: int) -> tuple[list[np.ndarray], float]:
    """Masks for frames 0..n-1 of one clip and the frames/s of frames 1.. (first-frame mask from Annotations)."""
    frames = open_frames(DATA / "JPEGImages" / clip.name)
    n = len(frames) if max_frames <= 0 else min(max_frames, len(frames))
    session = VideoSession(model, frames, MemoryConfig(), size=size, precision=precision)
    session.set_mask(0, read_mask(clip / f"{frames.names[0]}.png"))
    masks, t0 = [], 0.0
    for r in session.propagate(0, 1, stop=n - 1):
        if r.frame == 1:
            t0 = time.perf_counter()
        masks.append(r.mask)
    fps = (n - 2) / (time.perf_counter() - t0) if n > 2 else float("nan")
    return masks, fps


def jf(masks: list[np.ndarray], clip: Path) -> float:
    """Mean J&F over frames 1.. for object 1 against the clip's ground truth."""
    stems = sorted(p.stem for p in clip.glob("*.png"))[: len(masks)]
    scores = [object_scores(m, read_mask(clip / f"{s}.png"), 1) for m, s in zip(masks[1:], stems[1:], strict=True)]
    return float(np.mean([(j + f) / 2 for j, f in scores]))


def agreement(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """Mean over frames 1.. and objects of the IoU between two mask sequences."""
    ious = []
    for x, y in zip(a[1:], b[1:], strict=True):
        ids = sorted((set(np.unique(x)) | set(np.unique(y))) - {0})  # objects only: background IoU would inflate it
        ious += [region_similarity(x == i, y == i) for i in ids] or [1.0]
    return float(np.mean(ious))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=str(default_weights()))
    p.add_argument("--fast", nargs="+", default=["mixed", "bf16"], choices=["mixed", "bf16", "fp16"],
                   help="precisions compared with fp32 (default: mixed bf16)")
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-frames", type=int, default=0, help="frames per clip (0 = all)")
    p.add_argument("--clips", nargs="*", default=None)
    p.add_argument("--winograd", choices=["auto", "all", "off"], default="auto",
                   help="bf16 3×3 convolutions by Winograd: where it pays (default), all of them (to measure its "
                        "effect on masks on a trained network), or none")
    p.add_argument("--out", default="benchmarks/results/precision.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    winograd.ENABLED = args.winograd != "off"
    if args.winograd == "all":
        winograd.MIN_CHANNEL_PRODUCT = winograd.MIN_WORK = 0
    model = load_model(args.model)
    clips = [DATA / "Annotations" / c for c in (args.clips or sorted(os.listdir(DATA / "Annotations")))]
    rows = []
    head = f"{'clip':14s} {'J&F fp32':>9s} {'fps fp32':>9s}"
    for f in args.fast:
        head += f" {'IoU ~' + f:>11s} {'J&F ' + f:>10s} {'fps ' + f:>10s}"
    print(head)
    for clip in clips:  # precisions interleaved per clip, so machine noise hits them alike
        ref, fps_ref = propagate(model, clip, "fp32", args.size, args.max_frames)
        row = {"clip": clip.name, "frames": len(ref), "jf_fp32": jf(ref, clip), "fps_fp32": fps_ref}
        line = f"{clip.name:14s} {100 * row['jf_fp32']:9.1f} {fps_ref:9.2f}"
        for f in args.fast:
            fast, fps_fast = propagate(model, clip, f, args.size, args.max_frames)
            row |= {f"iou_{f}": agreement(ref, fast), f"jf_{f}": jf(fast, clip), f"fps_{f}": fps_fast}
            line += f" {row[f'iou_{f}']:11.4f} {100 * row[f'jf_{f}']:10.1f} {fps_fast:10.2f}"
        rows.append(row)
        print(line, flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k not in ("clip", "frames")}
    line = f"{'mean':14s} {100 * mean['jf_fp32']:9.1f} {mean['fps_fp32']:9.2f}"
    for f in args.fast:
        line += f" {mean[f'iou_{f}']:11.4f} {100 * mean[f'jf_{f}']:10.1f} {mean[f'fps_{f}']:10.2f}"
    print(line)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    meta = {"model": args.model, "fast": args.fast, "size": args.size, "threads": args.threads,
            "winograd": args.winograd,
            "max_frames": args.max_frames, "torch": torch.__version__, "load_avg": os.getloadavg()}
    Path(args.out).write_text(json.dumps({"meta": meta, "clips": rows, "mean": mean}, indent=2))


if __name__ == "__main__":
    main()
