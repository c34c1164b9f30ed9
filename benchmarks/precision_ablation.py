"""Where bf16 masks drift from fp32: the bf16 path with chosen network parts run in fp32 (davis16-dev).

Each variant propagates every clip's first-frame mask with `--precision bf16`, except that the listed submodules
of the prepared network are swapped for their fp32-prepared twins and run with autocast off. The table gives the
mean mask IoU (object only, frames 1..) against the fp32 masks, per clip and overall. A variant is a '+'-joined
list of submodule paths ('' = all bf16); trunk layers are reached through `_trunk` (e.g.
`key_encoder._trunk._blocks.3`), since the encoders call their trunk object, not the registered aliases.

    python benchmarks/precision_ablation.py "" decoder key_encoder key_encoder+key_proj+value_encoder
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.bench_precision import DATA, agreement  # noqa: E402
from xmem_core.config import MemoryConfig  # noqa: E402
from xmem_core.inference.session import VideoSession  # noqa: E402
from xmem_core.io.frames import open_frames  # noqa: E402
from xmem_core.io.masks import read_mask  # noqa: E402
from xmem_core.model.checkpoint import load_model  # noqa: E402
from xmem_core.model.optimize import prepare_for_inference  # noqa: E402
from xmem_core.resources import default_weights  # noqa: E402


class InFP32(nn.Module):
    """Runs `module` (fp32 weights) with autocast off on fp32 copies of its floating-point tensor arguments."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        def up(x):
            return x.float() if torch.is_tensor(x) and x.is_floating_point() else x

        with torch.autocast("cpu", enabled=False):
            return self.module(*[up(a) for a in args], **{k: up(v) for k, v in kwargs.items()})


def _get(root: nn.Module, path: str) -> nn.Module:
    for part in path.split("."):
        root = getattr(root, part)
    return root


def _set(root: nn.Module, path: str, module: nn.Module) -> None:
    *parents, last = path.split(".")
    setattr(_get(root, ".".join(parents)) if parents else root, last, module)


def propagate(model: nn.Module, clip: str, precision: str, fp32_parts: list[str], fp32_net: nn.Module | None,
              size: int, max_frames: int) -> list[np.ndarray]:
    frames = open_frames(DATA / "JPEGImages" / clip)
    n = len(frames) if max_frames <= 0 else min(max_frames, len(frames))
    session = VideoSession(model, frames, MemoryConfig(), size=size, precision=precision)
    for path in fp32_parts:
        _set(session.core.net, path, InFP32(_get(fp32_net, path)))
    session.set_mask(0, read_mask(DATA / "Annotations" / clip / f"{frames.names[0]}.png"))
    return [r.mask for r in session.propagate(0, 1, stop=n - 1)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("variants", nargs="+", help="'+'-joined submodule paths run in fp32 ('' = all bf16)")
    p.add_argument("--model", default=str(default_weights()))
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-frames", type=int, default=0, help="frames per clip (0 = all)")
    p.add_argument("--clips", nargs="*", default=None)
    p.add_argument("--out", default="benchmarks/results/precision_ablation.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    fp32_net = prepare_for_inference(model, "fp32")
    clips = args.clips or sorted(os.listdir(DATA / "Annotations"))
    ref = {c: propagate(model, c, "fp32", [], None, args.size, args.max_frames) for c in clips}
    rows = []
    for variant in args.variants:
        parts = [v for v in variant.split("+") if v]
        ious = {c: agreement(ref[c], propagate(model, c, "bf16", parts, fp32_net, args.size, args.max_frames))
                for c in clips}
        rows.append({"fp32_parts": parts, "iou": ious, "mean_iou": float(np.mean(list(ious.values())))})
        print(f"{variant or '(all bf16)':48.48s} mean IoU {rows[-1]['mean_iou']:.4f}  "
              + " ".join(f"{c} {v:.3f}" for c, v in ious.items()), flush=True)
    meta = {"model": args.model, "size": args.size, "threads": args.threads, "max_frames": args.max_frames}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "variants": rows}, indent=2))


if __name__ == "__main__":
    main()
