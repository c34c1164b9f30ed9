"""`main.py propagate`: propagate a mask through a video or frame folder and write palette PNGs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from xmem_core.cli.errors import CliError
from xmem_core.config import MemoryConfig
from xmem_core.inference.core import PRECISIONS
from xmem_core.inference.session import VideoSession
from xmem_core.io.frames import open_frames
from xmem_core.io.masks import read_mask
from xmem_core.io.writer import MaskWriter
from xmem_core.model.checkpoint import load_model
from xmem_core.resources import default_weights


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("propagate", help="propagate a first-frame mask through a clip",
                              description="Propagate MASK (annotating frame N) through INPUT; write one palette PNG "
                                          "per frame into OUT_DIR at the source resolution.")
    p.add_argument("input", metavar="INPUT", help="video file (mp4/mov/avi/mkv/webm) or folder of jpg/png frames")
    p.add_argument("--mask", required=True, help="annotation PNG (DAVIS palette, index or 0/255 grayscale)")
    p.add_argument("--out", required=True, metavar="OUT_DIR", help="output folder for the mask PNGs")
    p.add_argument("--mask-frame", type=int, default=0, metavar="N", help="frame the mask annotates (default 0)")
    p.add_argument("--model", default=None, help="weights file: ours or the released XMem.pth (default: shipped)")
    p.add_argument("--size", type=int, default=480, help="processing short side; -1 keeps the source (default 480)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: cuda when present)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto = fp16 on CUDA; on a CPU with native bf16 'mixed' (bf16 decoder and value fusion, "
                        "fp32 key encoder and value trunk: same masks as fp32), else fp32; bf16 is fastest but "
                        "its masks drift from fp32")
    p.add_argument("--mem-every", type=int, default=5, metavar="R", help="r: memory frame every R frames")
    p.add_argument("--top-k", type=int, default=30, help="top-k of the memory read")
    p.add_argument("--t-min", type=int, default=5, help="T_min working-memory frames")
    p.add_argument("--t-max", type=int, default=10, help="T_max working-memory frames")
    p.add_argument("--lt-max", type=int, default=10000, help="LT_max long-term elements")
    p.add_argument("--prototypes", type=int, default=128, metavar="P", help="P prototypes per consolidation")
    p.add_argument("--no-long-term", action="store_true", help="disable long-term memory")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, prepare_session=None)
    return p


def memory_config_from_args(args: argparse.Namespace) -> MemoryConfig:
    try:
        return MemoryConfig(r=args.mem_every, T_min=args.t_min, T_max=args.t_max, P=args.prototypes,
                            LT_max=args.lt_max, top_k=args.top_k, long_term=not args.no_long_term)
    except ValueError as e:
        raise CliError(f"invalid memory settings: {e}") from None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise CliError(f"unknown device {name!r}; use cpu, cuda or auto") from None
    if device.type not in ("cpu", "cuda"):
        raise CliError(f"unsupported device {name!r}; use cpu, cuda or auto")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CliError("--device cuda was requested but no CUDA device is available")
    return device


def run(args: argparse.Namespace) -> int:
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    config = memory_config_from_args(args)
    device = resolve_device(args.device)
    if not Path(args.input).exists():
        raise CliError(f"input not found: {args.input}")
    frames = open_frames(args.input)
    n = len(frames)
    if not 0 <= args.mask_frame < n:
        raise CliError(f"--mask-frame {args.mask_frame} is outside the clip (0..{n - 1})")
    if not Path(args.mask).is_file():
        raise CliError(f"mask not found: {args.mask}")
    mask = read_mask(args.mask, size=tuple(frames.size))
    if not mask.any():
        raise CliError(f"the mask {args.mask} is empty: it marks no object")
    model_path = Path(args.model) if args.model else default_weights()
    if not model_path.is_file():
        raise CliError(f"model weights not found: {model_path}")
    model = load_model(model_path, device=device)
    prepare = getattr(args, "prepare_session", None)  # set by main.py when the training package is there (--adapt)
    adapting = getattr(args, "adapt", 0) > 0
    session = VideoSession(model, frames, config, size=args.size, device=device, precision=args.precision,
                           copy_model=adapting)
    del model  # without --adapt the session optimised it in place
    session.set_mask(args.mask_frame, mask)
    if prepare is not None:
        prepare(session, args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    _propagate_both_ways(session, args.mask_frame, out_dir, frames.names, quiet=args.quiet)
    frames.close()
    return 0


def _propagate_both_ways(session: VideoSession, start: int, out_dir: Path, names: list[str], quiet: bool) -> None:
    """Forward from the annotated frame to the end, then (fresh memory) backward to frame 0."""
    n = len(names)
    bar = tqdm(total=n, desc="propagate", unit="frame", file=sys.stderr, disable=quiet, dynamic_ncols=True)
    runs = [(1, True)] + ([(-1, False)] if start > 0 else [])
    with MaskWriter() as writer:
        for direction, write_start in runs:
            session.reset_memory()
            for result in session.propagate(start, direction, stop_at_keyframe=False):
                if result.frame == start and not write_start:
                    continue
                writer.write(out_dir / f"{names[result.frame]}.png", result.mask)
                bar.update(1)
    bar.close()
