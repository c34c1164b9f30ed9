"""`main.py propagate`: propagate a mask through a video or frame folder and write palette PNGs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from xmem_core.cli.errors import CliError
from xmem_core.cli.outdir import OutputFolder, check_output
from xmem_core.config import MemoryConfig
from xmem_core.inference.core import PRECISIONS
from xmem_core.inference.session import VideoSession
from xmem_core.io.frames import open_frames
from xmem_core.io.masks import read_mask
from xmem_core.io.writer import MaskWriter
from xmem_core.model.checkpoint import load_model
from xmem_core.resources import default_weights

MIN_SIZE, MAX_SIZE = 32, 4320  # processing short side: 32 px is a 2×2 feature map at stride 16; 4320 is 8K


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("propagate", help="propagate a first-frame mask through a clip",
                              description="Propagate MASK (annotating frame N) through INPUT; write one palette PNG "
                                          "per frame into OUT_DIR at the source resolution.")
    p.add_argument("input", metavar="INPUT", help="video file (mp4/mov/avi/mkv/webm) or folder of jpg/png frames")
    p.add_argument("--mask", required=True, help="annotation PNG (DAVIS palette, index or 0/255 grayscale)")
    p.add_argument("--out", required=True, metavar="OUT_DIR", help="output folder for the mask PNGs")
    p.add_argument("--mask-frame", type=int, default=0, metavar="N", help="frame the mask annotates (default 0)")
    p.add_argument("--model", default=None, help="weights file: ours or the released XMem.pth (default: shipped)")
    p.add_argument("--size", type=int, default=480,
                   help="processing short side, 32..4320; -1 keeps the source (default 480)")
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
    p.add_argument("--overwrite", action="store_true",
                   help="replace the masks an earlier run wrote into OUT_DIR (never other files)")
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
    """Check everything (arguments, input, mask, OUT_DIR) before the model loads, then propagate and write."""
    check_numbers(args)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    config = memory_config_from_args(args)
    device = resolve_device(args.device)
    if not Path(args.input).exists():
        raise CliError(f"input not found: {args.input}")
    frames = open_frames(args.input)
    _notes(frames.notes)
    n = len(frames)
    if not 0 <= args.mask_frame < n:
        raise CliError(f"--mask-frame {args.mask_frame} is outside the clip (0..{n - 1})")
    if not Path(args.mask).is_file():
        raise CliError(f"mask not found: {args.mask}")
    notes: list[str] = []
    mask = read_mask(args.mask, size=tuple(frames.size), notes=notes)
    _notes(notes)
    if not mask.any():
        raise CliError(f"the mask {args.mask} is empty: it marks no object")
    model_path = Path(args.model) if args.model else default_weights()
    if not model_path.is_file():
        raise CliError(f"model weights not found: {model_path}")
    out = check_output(args.out, args.input, frames.names, args.mask, getattr(args, "overwrite", False))
    try:
        model = load_model(model_path, device=device)
        adapting = getattr(args, "adapt", 0) > 0
        session = VideoSession(model, frames, config, size=args.size, device=device, precision=args.precision,
                               copy_model=adapting)
    except BaseException:
        out.discard_created()
        raise
    del model  # without --adapt the session optimised it in place
    session.set_mask(args.mask_frame, mask)
    prepare = getattr(args, "prepare_session", None)  # set by main.py when the training package is there (--adapt)
    if prepare is not None:
        prepare(session, args)
    try:
        out.start()
        _propagate_both_ways(session, args.mask_frame, out, frames.names, quiet=args.quiet)
        out.finish()
    except OSError as exc:  # a mask or manifest write failed (disk full, folder removed, ...)
        raise CliError(f"cannot write masks to {out.folder}: {exc.strerror or exc}") from None
    frames.close()
    return 0


def check_numbers(args: argparse.Namespace) -> None:
    """--size and --threads within sane bounds (before anything is loaded or allocated)."""
    if args.size != -1 and not MIN_SIZE <= args.size <= MAX_SIZE:
        raise CliError(f"--size {args.size} is out of range: use {MIN_SIZE}..{MAX_SIZE} pixels (the processing "
                       "short side), or -1 for the source size")
    cpus = os.cpu_count() or 1
    if not 0 <= args.threads <= cpus:
        raise CliError(f"--threads {args.threads} is out of range: use 1..{cpus} (this machine's CPUs) or 0 for "
                       "torch's default")


def _notes(lines: list[str]) -> None:
    for line in lines:
        print(f"note: {line}", file=sys.stderr)


def _propagate_both_ways(session: VideoSession, start: int, out: OutputFolder, names: list[str],
                         quiet: bool) -> None:
    """Forward from the annotated frame to the end, then (fresh memory) backward to frame 0."""
    n = len(names)
    bar = tqdm(total=n, desc="propagate", unit="frame", file=sys.stderr, disable=quiet, dynamic_ncols=True)
    runs = [(1, True)] + ([(-1, False)] if start > 0 else [])
    try:
        with MaskWriter() as writer:
            for direction, write_start in runs:
                session.reset_memory()
                for result in session.propagate(start, direction, stop_at_keyframe=False):
                    if result.frame == start and not write_start:
                        continue
                    writer.write(out.path(f"{names[result.frame]}.png"), result.pending)  # waited for in the writer
                    bar.update(1)
    finally:
        bar.close()  # before any error line, so it never shares the bar's line
