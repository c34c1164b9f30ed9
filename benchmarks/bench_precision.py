"""Mask agreement and speed of the fast path (bf16 CPU / fp16 CUDA) against fp32 on davis16-dev.

For each clip the engine propagates the first-frame mask twice (fp32, then the fast precision) and the script
reports the mean IoU between the two mask sequences (all frames but the first, per object, averaged over
frames), each precision's J&F against the ground truth, and its frames/s. Prints a table and writes JSON.

    python benchmarks/bench_precision.py --model resources/weights/xmem-lite.pth --fast bf16
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
        ids = sorted(set(np.unique(x)) | set(np.unique(y)) - {0})
        ious += [region_similarity(x == i, y == i) for i in ids] or [1.0]
    return float(np.mean(ious))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=str(default_weights()))
    p.add_argument("--fast", default="bf16", choices=["bf16", "fp16"])
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-frames", type=int, default=0, help="frames per clip (0 = all)")
    p.add_argument("--clips", nargs="*", default=None)
    p.add_argument("--out", default="benchmarks/results/precision.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    clips = [DATA / "Annotations" / c for c in (args.clips or sorted(os.listdir(DATA / "Annotations")))]
    rows = []
    print(f"{'clip':14s} {'IoU fp32~' + args.fast:>14s} {'J&F fp32':>9s} {'J&F ' + args.fast:>9s} "
          f"{'fps fp32':>9s} {'fps ' + args.fast:>9s}")
    for clip in clips:
        ref, fps_ref = propagate(model, clip, "fp32", args.size, args.max_frames)
        fast, fps_fast = propagate(model, clip, args.fast, args.size, args.max_frames)
        row = {"clip": clip.name, "iou": agreement(ref, fast), "jf_fp32": jf(ref, clip), "jf_fast": jf(fast, clip),
               "fps_fp32": fps_ref, "fps_fast": fps_fast, "frames": len(ref)}
        rows.append(row)
        print(f"{clip.name:14s} {row['iou']:14.4f} {100 * row['jf_fp32']:9.1f} {100 * row['jf_fast']:9.1f} "
              f"{fps_ref:9.2f} {fps_fast:9.2f}")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("iou", "jf_fp32", "jf_fast", "fps_fp32", "fps_fast")}
    print(f"{'mean':14s} {mean['iou']:14.4f} {100 * mean['jf_fp32']:9.1f} {100 * mean['jf_fast']:9.1f} "
          f"{mean['fps_fp32']:9.2f} {mean['fps_fast']:9.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    meta = {"model": args.model, "fast": args.fast, "size": args.size, "threads": args.threads,
            "max_frames": args.max_frames, "torch": torch.__version__}
    Path(args.out).write_text(json.dumps({"meta": meta, "clips": rows, "mean": mean}, indent=2))


if __name__ == "__main__":
    main()
