"""`python -m training.train`: train XMem / xmem-lite from a preset or config file, with flag overrides.

Examples:
  python -m training.train --preset cpu-lite
  python -m training.train --preset paper --data-root /data/vos --resnet50 r50.pth --resnet18 r18.pth
  python -m training.train --config configs/training/cpu-lite.json --set stages.*.batch_size=4
  python -m training.train --resume runs/cpu-lite/checkpoints/last.pth
  python -m training.train --preset gpu-lite --time-budget 10         # fit the schedule to 10 minutes
  python -m training.train --resume runs/gpu-lite/checkpoints/last.pth --time-budget 10   # the next window
  torchrun --nproc_per_node 2 -m training.train --preset paper      # DDP, batch sizes are global
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from training.config import TrainConfig, apply_override, from_dict, load_file, to_dict, validate
from training.presets import PRESETS, get_preset, paper


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=sorted(PRESETS), help="start from a named preset (default: cpu-lite)")
    src.add_argument("--config", help="JSON/YAML config file (a full TrainConfig, e.g. from --dump-config)")
    p.add_argument("--resume", help="training checkpoint to continue from (its config is used unless --config)")
    p.add_argument("--data-root", help="paper presets: folder with static/, DAVIS/2017/trainval, YouTube/train_480p")
    p.add_argument("--model", choices=["xmem", "xmem-lite"])
    p.add_argument("--out", help="output folder (logs, checkpoints, weights)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--resnet50", help="torchvision ResNet-50 ImageNet weights (xmem model)")
    p.add_argument("--resnet18", help="torchvision ResNet-18 ImageNet weights (xmem model)")
    p.add_argument("--init-weights", help="start the first stage from these weights")
    p.add_argument("--stages", help="comma-separated stage names to run, e.g. 'main' (skips the others)")
    p.add_argument("--iterations", type=int, help="main iterations per stage (LR steps, warm-ups, fine-tune scaled)")
    p.add_argument("--batch-size", type=int, help="global batch size of every stage (LR scaled by lr_scaling)")
    p.add_argument("--lr", type=float, help="learning rate of every stage (at its reference batch)")
    p.add_argument("--size", type=int, help="crop size of every stage")
    p.add_argument("--num-workers", type=int)
    p.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")
    p.add_argument("--amp", choices=["auto", "bf16", "fp16", "off"],
                   help="mixed precision on CUDA: auto (bf16 if supported, else fp16), bf16, fp16 (+GradScaler), off")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the per-frame stages (falls back to eager if compilation fails)")
    p.add_argument("--time-budget", type=float, metavar="MINUTES",
                   help="fit the schedule to this many minutes (measured pace) and write final weights in time")
    p.add_argument("--eval-every", type=int, help="iterations between evaluations (0 = stage ends only)")
    p.add_argument("--no-eval", action="store_true", help="disable evaluation")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override, e.g. stages.1.num_frames=5, stages.*.lr=2e-5, eval.size=240")
    p.add_argument("--stop-after", type=int, help="stop (with a checkpoint) after this many iterations; resume later")
    p.add_argument("--dump-config", action="store_true", help="print the resolved config as JSON and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def _base_config(args: argparse.Namespace) -> TrainConfig:
    if args.config:
        return from_dict(TrainConfig, load_file(args.config))
    if args.resume and not args.preset:
        from training.checkpoint import load_checkpoint

        return from_dict(TrainConfig, load_checkpoint(args.resume)["config"])
    name = args.preset or "cpu-lite"
    if name.startswith("paper") and args.data_root:
        return paper(args.data_root, "xmem-lite" if name == "paper-lite" else "xmem")
    return get_preset(name)


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Preset/config file, then the convenience flags, then --set overrides, then the --stages filter."""
    cfg = _base_config(args)
    simple = {"model": args.model, "out_dir": args.out, "device": args.device, "resnet50_weights": args.resnet50,
              "resnet18_weights": args.resnet18, "init_weights": args.init_weights, "num_workers": args.num_workers}
    for k, v in simple.items():
        if v is not None:
            setattr(cfg, k, v)
    per_stage = {"batch_size": args.batch_size, "lr": args.lr, "size": args.size}
    for st in cfg.stages:
        if args.iterations is not None:
            st.rescale(args.iterations)
        for k, v in per_stage.items():
            if v is not None:
                if k == "batch_size" and not st.lr_reference_batch:
                    st.lr_reference_batch = st.batch_size  # keep the tuned LR meaningful at the new batch
                setattr(st, k, v)
    if args.amp is not None:
        cfg.amp = args.amp != "off"
        cfg.amp_dtype = args.amp if args.amp != "off" else cfg.amp_dtype
    if args.no_amp:
        cfg.amp = False
    if args.compile is not None:
        cfg.compile = args.compile
    if args.eval_every is not None:
        cfg.eval.every = args.eval_every
    if args.no_eval:
        cfg.eval.root = ""
    for item in args.set:
        apply_override(cfg, item)
    if args.stages:  # after --set, so stage indices there refer to the full list
        keep = args.stages.split(",")
        cfg.stages = [s for s in cfg.stages if s.name in keep]
    if not cfg.stages:
        raise SystemExit("no stages to run")
    validate(cfg)
    return cfg


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()  # a --time-budget counts from here (torch is imported below)
    args = parse_args(argv)
    if args.time_budget is not None and not args.time_budget > 0:
        print(f"error: --time-budget must be a positive number of minutes, not {args.time_budget}", file=sys.stderr)
        return 2
    try:
        cfg = resolve_config(args)
    except (ValueError, TypeError, OSError, KeyError, IndexError, AttributeError) as e:
        # bad config files, --set paths or values: say which, without a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    if cfg.init_weights and not Path(cfg.init_weights).is_file() and not args.resume:
        print(f"error: init weights {cfg.init_weights} not found (run from the repository root, or pass "
              "--init-weights)", file=sys.stderr)
        return 2
    if args.dump_config:
        import json

        print(json.dumps(to_dict(cfg), indent=2))
        return 0
    from training.trainer import Trainer
    from xmem_core.model.checkpoint import CheckpointError

    try:
        trainer = Trainer(cfg, resume=args.resume, progress=not args.no_progress, stop_after=args.stop_after,
                          time_budget=args.time_budget, started=started)
    except CheckpointError as e:  # --resume / init weights that cannot be read or are refused
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    except ValueError as e:  # e.g. --time-budget under torchrun, a CUDA device this process cannot use
        print(f"error: {e}", file=sys.stderr)
        return 2
    final = trainer.run()
    if final is not None:
        print(f"final weights: {Path(final).resolve()}")
    if not trainer.finished:
        print(f"stopped; resume with --resume {Path(cfg.out_dir, 'checkpoints', 'last.pth')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
