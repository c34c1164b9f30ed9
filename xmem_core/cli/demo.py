"""`main.py demo` (the default command): propagate the bundled sample clip with the shipped weights."""

from __future__ import annotations

import argparse
from pathlib import Path

from xmem_core.cli import propagate
from xmem_core.cli.errors import CliError
from xmem_core.resources import SAMPLE_CLIP, SAMPLE_DIR, SAMPLE_MASK


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="propagate the bundled sample clip (default command)")
    p.add_argument("--out", default="out/sample", help="output folder (default out/sample)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not SAMPLE_CLIP.is_file():
        raise CliError(f"bundled sample clip missing: {SAMPLE_CLIP}")
    ns = propagate_args(args.out, args.device)
    code = propagate.run(ns)
    gt = SAMPLE_DIR / "gt"
    print(f"wrote {len(list(Path(args.out).glob('*.png')))} masks to {args.out}")
    if gt.is_dir():
        from xmem_core.metrics.davis import evaluate_clip

        score = evaluate_clip(Path(args.out), gt)
        print(f"sample clip vs. its ground truth: J {100 * score.J:.1f}  F {100 * score.F:.1f}  "
              f"J&F {50 * (score.J + score.F):.1f}")
    return code


def propagate_args(out: str, device: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    propagate.add_parser(sub)
    # the sample is 640×360: process it at its own size rather than upscaling to 480
    return parser.parse_args(["propagate", str(SAMPLE_CLIP), "--mask", str(SAMPLE_MASK), "--out", out,
                              "--device", device, "--size", "-1", "--overwrite"])
