"""Training throughput: iterations/s and where an iteration's time goes (data / forward / backward / optimiser).

The step is the trainer's own (`training.step.TrainStep` with `training.runtime`'s AMP, channels-last, fused AdamW,
cuDNN autotuning and optional torch.compile), on real clips of davis16-train with pasting (`VideoDataset`, as the
main stage), so the numbers are those of `python -m training.train` with the same settings. The network starts from
random weights (speed does not depend on them) unless `--weights` is given.

Two timed passes after `--warmup` iterations:
  * split: the device is synchronised after each phase (data wait, to-device + forward + loss, backward, optimiser
    step); the phase means tell where the time goes. Synchronising costs a little, so this pass is slower.
  * throughput (CUDA only; on the CPU nothing is asynchronous and the split pass is the throughput): no
    synchronisation until the end, as in training; its iterations/s is the number to compare with train_log.csv.

    python benchmarks/bench_train.py --device cpu --batch-size 2 --frames 4 --size 192 --iterations 10
    python benchmarks/bench_train.py --device cuda --batch-size 16 --frames 8 --size 384 --json out.json

Needs torch, numpy, OpenCV, Pillow and this project only (no PyAV, no Qt). `run_bench(parse_args([...]))` returns
the result dictionary (what `--json` writes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from training.config import DataSource, StageConfig, TrainConfig  # noqa: E402
from training.data.build import build_dataset, build_loader  # noqa: E402
from training.losses import LossConfig  # noqa: E402
from training.runtime import (  # noqa: E402
    FrameStages,
    amp_dtype,
    check_device,
    configure_backends,
    make_optimizer,
    needs_scaler,
    prepare_network,
)
from training.step import ClipModel, TrainStep  # noqa: E402
from training.trainer import StepSchedule, resolve_device  # noqa: E402
from xmem_core.config import ModelConfig  # noqa: E402
from xmem_core.model.checkpoint import load_weights  # noqa: E402
from xmem_core.model.network import XMem  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data beside the repo
PHASES = ("data", "forward", "backward", "optimizer")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    p.add_argument("--model", default="xmem-lite", choices=["xmem-lite", "xmem"])
    p.add_argument("--weights", help="start from these weights (default: random init)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--frames", type=int, default=8, help="frames per clip")
    p.add_argument("--size", type=int, default=384, help="square crop side")
    p.add_argument("--objects", type=int, default=3, help="object slots per sample (max_objects)")
    p.add_argument("--iterations", type=int, default=50, help="timed iterations per pass")
    p.add_argument("--warmup", type=int, default=5, help="untimed iterations first (cuDNN autotuning, compile)")
    p.add_argument("--amp", nargs="?", const="auto", default="auto", choices=["auto", "bf16", "fp16", "off"],
                   help="CUDA autocast (a bare --amp means auto)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--fused-adamw", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--host-sync", action="store_true",
                   help="read the losses back every iteration (as the trainer did before; for an A/B)")
    p.add_argument("--workers", type=int, default=-1, help="loader workers (default: 0 on the CPU, 8 on CUDA)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument("--max-short", type=int, default=0, help="decode frames at most this short side (0 = full)")
    p.add_argument("--data", default=str(DATA), help="folder holding davis16-train (default ../shared/data)")
    p.add_argument("--json", help="write the result here")
    return p.parse_args(argv)


def _train_config(args: argparse.Namespace) -> tuple[TrainConfig, StageConfig]:
    workers = args.workers if args.workers >= 0 else (0 if args.device == "cpu" else 8)
    stage = StageConfig(
        name="main", iterations=10**6, finetune_iterations=0, batch_size=args.batch_size, lr=1e-5, lr_steps=[],
        size=args.size, num_frames=args.frames, num_ref_frames=3, max_objects=args.objects, grad_clip=1.0,
        max_short=args.max_short, data=[DataSource(str(Path(args.data) / "davis16-train"), kind="davis", paste=True)],
    )
    cfg = TrainConfig(
        model=args.model, device=args.device, amp=args.amp != "off",
        amp_dtype=args.amp if args.amp != "off" else "auto", channels_last=args.channels_last,
        fused_adamw=args.fused_adamw, compile=args.compile, num_workers=workers, threads=args.threads,
        cache_mb=1024, prefetch_factor=4, stages=[stage],
    )
    return cfg, stage


class PhaseTimer:
    """Wall and process CPU time per phase; `sync` waits for the device first so that each phase's kernels are
    counted in it. CPU time is the fairer measure on a shared CPU (it does not count time spent waiting for a core)."""

    def __init__(self, device: torch.device, sync: bool) -> None:
        self.device, self.sync = device, sync
        self.sums = dict.fromkeys(PHASES, 0.0)
        self.cpu = dict.fromkeys(PHASES, 0.0)
        self.t, self.c = time.perf_counter(), time.process_time()

    def mark(self, phase: str) -> None:
        if self.sync and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now, cpu = time.perf_counter(), time.process_time()
        self.sums[phase] += now - self.t
        self.cpu[phase] += cpu - self.c
        self.t, self.c = now, cpu


def _iterate(step: TrainStep, batches: Any, it: int, timer: PhaseTimer | None, host_sync: bool) -> None:
    batch = next(batches)
    if timer:
        timer.mark("data")
    losses = step.forward(step.to_device(batch), it)
    if timer:
        timer.mark("forward")
    step.backward(losses)
    if timer:
        timer.mark("backward")
    step.optimize()
    if host_sync:
        [float(losses[k]) for k in ("total", "ce", "dice")]  # noqa: B018 - the per-iteration reads being measured
    if timer:
        timer.mark("optimizer")


def _build(args: argparse.Namespace, cfg: TrainConfig, stage: StageConfig, device: torch.device) -> tuple:
    """(TrainStep, batch iterator, FrameStages): the loader's workers start before the network is built."""
    loader, _ = build_loader(build_dataset(stage, cfg), stage, cfg, 0, 0, pin=device.type == "cuda")
    batches = iter(loader)
    net = XMem(ModelConfig.by_name(args.model))
    if args.weights:
        load_weights(net, args.weights)
    net = prepare_network(net, cfg, device)
    net.eval()  # frozen BatchNorm, as in training
    stages = FrameStages(net, cfg.compile, cfg.compile_mode)
    model = ClipModel(net, stages, cfg.channels_last)
    opt = make_optimizer(net.parameters(), stage, cfg, device)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, StepSchedule.of(stage))
    amp = amp_dtype(cfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=needs_scaler(amp))
    step = TrainStep(model, opt, sched, scaler, stage, LossConfig(0, 1, 0.15), device, amp, cfg.seed, 0)
    return step, batches, stages


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark described by `args` (see `parse_args`); returns the result dictionary."""
    cfg, stage = _train_config(args)
    device = resolve_device(args.device)
    check_device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    configure_backends(cfg, device)
    load_before = os.getloadavg()
    t_setup = time.perf_counter()
    step, batches, stages = _build(args, cfg, stage, device)
    it = 0
    for _ in range(args.warmup):
        _iterate(step, batches, it, None, args.host_sync)
        it += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    setup_s = time.perf_counter() - t_setup
    timer = PhaseTimer(device, sync=True)
    t0 = time.perf_counter()
    for _ in range(args.iterations):
        _iterate(step, batches, it, timer, args.host_sync)
        it += 1
    split_s = time.perf_counter() - t0
    n = max(args.iterations, 1)
    result: dict[str, Any] = {
        "it_per_s": args.iterations / split_s,
        "clips_per_s": args.iterations * args.batch_size / split_s,
        "ms": {k: 1000 * v / n for k, v in timer.sums.items()},
        "cpu_ms": {k: 1000 * v / n for k, v in timer.cpu.items()},  # process CPU time (all threads)
        "setup_and_warmup_s": setup_s,
    }
    if device.type == "cuda":
        t0 = time.perf_counter()
        for _ in range(args.iterations):
            _iterate(step, batches, it, None, args.host_sync)
            it += 1
        torch.cuda.synchronize(device)
        result["it_per_s_nosync"] = args.iterations / (time.perf_counter() - t0)
        result["clips_per_s_nosync"] = result["it_per_s_nosync"] * args.batch_size
        result["peak_cuda_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        result["gpu"] = torch.cuda.get_device_name(device)
    result.update({
        "args": vars(args), "device": str(device),
        "amp_dtype": str(step.amp).replace("torch.", "") if step.amp else "off",
        "compiled": stages.compiled, "scaler": step.scaler.is_enabled(), "workers": cfg.num_workers,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor(),
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
    })
    return result


def _print(r: dict[str, Any]) -> None:
    a = r["args"]
    print(f"{a['model']} on {r['device']}: batch {a['batch_size']} x {a['frames']} frames x {a['size']} px, "
          f"amp {r['amp_dtype']}, channels-last {a['channels_last']}, compiled {r['compiled']}, "
          f"workers {r['workers']}, threads {r['threads']}")
    split = "  ".join(f"{k} {v:.1f} ms" for k, v in r["ms"].items())
    print(f"  {r['it_per_s']:.3f} it/s ({r['clips_per_s']:.2f} clips/s) with per-phase sync: {split}")
    print("  process CPU time: " + "  ".join(f"{k} {v:.1f} ms" for k, v in r["cpu_ms"].items()))
    if "it_per_s_nosync" in r:
        print(f"  {r['it_per_s_nosync']:.3f} it/s ({r['clips_per_s_nosync']:.2f} clips/s) without; "
              f"peak {r['peak_cuda_gib']:.2f} GiB on {r['gpu']}")
    print(f"  setup + warm-up {r['setup_and_warmup_s']:.1f} s; load {r['loadavg_before'][0]:.1f} -> "
          f"{r['loadavg_after'][0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (Path(args.data) / "davis16-train").is_dir():
        print(f"error: {Path(args.data) / 'davis16-train'} is not a folder (pass --data DIR)", file=sys.stderr)
        return 2
    try:
        result = run_bench(args)
    except (ValueError, RuntimeError) as e:  # e.g. an unknown device or one that is not there
        print(f"error: {e}", file=sys.stderr)
        return 2
    _print(result)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
