"""`main.py propagate --adapt SECONDS`: fine-tune on the given mask before propagating (docs/ADAPT.md).

main.py adds these options to the engine's propagate command, which calls `args.prepare_session(session, args)`
once its keyframe is set; xmem_core itself never imports the training package.
"""

from __future__ import annotations

import argparse
import sys

from training.adapt import PARAM_GROUPS, AdaptConfig, adapt_session, processing_size
from xmem_core.cli.errors import CliError
from xmem_core.inference.session import VideoSession


def add_options(p: argparse.ArgumentParser) -> None:
    """Add --adapt / --adapt-params to the propagate parser."""
    p.add_argument("--adapt", type=float, default=0.0, metavar="SECONDS",
                   help="first fine-tune the network on the mask for about SECONDS (0 = off, the default: it "
                        "helps some clips a lot and hurts others, docs/ADAPT.md); the weights file is never changed")
    p.add_argument("--adapt-params", default=AdaptConfig.params, choices=PARAM_GROUPS,
                   help=f"parameters adaptation moves (default {AdaptConfig.params})")
    p.set_defaults(prepare_session=prepare_session)


def prepare_session(session: VideoSession, args: argparse.Namespace) -> None:
    """Adapt the session to its keyframes when --adapt is given; report what it did on stderr."""
    if args.adapt < 0:
        raise CliError(f"--adapt must be 0 (off) or a number of seconds, not {args.adapt:g}")
    if args.adapt == 0:
        return
    cfg = AdaptConfig(budget_s=args.adapt, params=args.adapt_params, size=processing_size(session))
    result = adapt_session(session, cfg=cfg)
    if not args.quiet:
        s = result.summary()
        print(f"adapted {cfg.params} in {s['seconds']:.1f} s: {s['steps']} steps, loss {s['loss_first']:.3f} -> "
              f"{s['loss_last']:.3f}", file=sys.stderr)
