"""Periodic evaluation: run the inference engine on a DAVIS-layout folder and score J&F (engine metrics)."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from xmem_core.inference.session import VideoSession
from xmem_core.io.frames import open_frames
from xmem_core.io.masks import read_mask, write_mask
from xmem_core.metrics.davis import evaluate_folders
from xmem_core.model.network import XMem


@dataclass
class EvalSummary:
    J: float
    F: float
    JF: float
    per_clip: dict[str, float]  # clip -> J&F
    seconds: float


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        dst.symlink_to(src.resolve())
    except OSError:
        shutil.copyfile(src, dst)


def predict_clip(net: XMem, image_dir: Path, first_mask: Path, out_dir: Path, size: int, max_frames: int,
                 device: torch.device | str) -> list[str]:
    """Propagate the first-frame mask through (the first `max_frames` of) a clip; write PNGs; return stems."""
    frames = open_frames(image_dir)
    n = len(frames) if max_frames <= 0 else min(max_frames, len(frames))
    session = VideoSession(net, frames, size=size, device=device)
    session.set_mask(0, read_mask(first_mask, size=tuple(frames.size)))
    out_dir.mkdir(parents=True, exist_ok=True)
    names = frames.names
    for res in session.propagate(0, stop=n - 1):
        write_mask(out_dir / f"{names[res.frame]}.png", res.mask)
    return names[:n]


def evaluate_davis(net: XMem, root: str | Path, size: int = 480, max_frames: int = 0, clips: list[str] | None = None,
                   device: torch.device | str = "cpu", work_dir: str | Path | None = None) -> EvalSummary:
    """J, F and J&F of `net` on `root` (JPEGImages/<clip>, Annotations/<clip>), all frames after the first.

    max_frames > 0 scores only each clip's first `max_frames` frames (faster, not comparable to full-clip scores).
    The network's train/eval mode is restored afterwards.
    """
    root = Path(root)
    names = clips or sorted(d.name for d in (root / "JPEGImages").iterdir() if d.is_dir())
    was_training = net.training
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="xmem-eval-", dir=work_dir))
    try:
        with torch.no_grad():
            for clip in names:
                gt_dir = root / "Annotations" / clip
                first = sorted(gt_dir.glob("*.png"))[0]
                stems = predict_clip(net, root / "JPEGImages" / clip, first, tmp / "pred" / clip, size, max_frames,
                                     device)
                (tmp / "gt" / clip).mkdir(parents=True)
                for s in stems:
                    _link_or_copy(gt_dir / f"{s}.png", tmp / "gt" / clip / f"{s}.png")
        result = evaluate_folders(tmp / "pred", tmp / "gt")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        net.train(was_training)
    per_clip = {c.clip: c.JF for c in result.clips}
    return EvalSummary(result.J, result.F, result.JF, per_clip, time.perf_counter() - t0)
