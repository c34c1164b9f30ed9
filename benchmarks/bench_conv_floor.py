"""The convolution floor of a configuration: every convolution the engine runs on a frame, timed alone.

Propagates one object over the first frames of a davis16-dev clip at 480p twice: once timed per stage, once with
forward hooks on every Conv2d of the prepared network (the modules the engine calls: folded, fused with ReLU6,
bf16, Winograd where its rule picks it), which keep each convolution's first input and count its calls. Each
convolution is then re-run alone on that input, warm, `--repeat` times (fastest).
Weighted by how often it ran per timed frame (the value encoder runs on one frame in r), the sum is what the
convolutions alone cost per frame with these kernels on this machine: the frame rate no scheduling, caching or
fusion around them can beat without fewer or cheaper convolutions. It is printed beside each stage's measured time.

    python benchmarks/bench_conv_floor.py --model resources/weights/xmem-lite.pth --precision fp32 mixed bf16 \\
        --out benchmarks/results/conv_floor_lite.json

One object only: with several, the first fusion convolutions take `GConv2D.forward_shared`, which hooks miss.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_propagate import DATA, build_model, display_model, first_mask  # noqa: E402
from xmem_core.config import MemoryConfig  # noqa: E402
from xmem_core.inference.allocator import keep_freed_memory  # noqa: E402
from xmem_core.inference.session import VideoSession  # noqa: E402
from xmem_core.io.frames import open_frames  # noqa: E402

STAGES = ("key_encoder", "decoder", "value_encoder")
STAGE_OF = {"key_encoder": "key_encoder", "key_proj": "key_encoder", "decoder": "decoder",
            "value_encoder": "value_encoder"}  # top-level module -> engine stage (FrameResult.timings key)


class ConvRecorder:
    """Forward hooks on every Conv2d of `net`: the first input of each, its output size, and its call count while
    `counting`."""

    def __init__(self, net: nn.Module) -> None:
        self.inputs: dict[str, torch.Tensor] = {}
        self.out_numel: dict[str, int] = {}
        self.modules: dict[str, nn.Conv2d] = {}
        self.calls: dict[str, int] = {}
        self.counting = False
        self._handles = [m.register_forward_hook(self._hook(name))
                         for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]

    def _hook(self, name: str) -> Callable:
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if name not in self.inputs:
                self.inputs[name] = args[0].detach().clone()
                self.out_numel[name] = output.numel()
                self.modules[name] = module
            if self.counting:
                self.calls[name] = self.calls.get(name, 0) + 1
        return hook

    def start_counting(self) -> None:
        self.counting = True

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


def time_alone(module: nn.Conv2d, x: torch.Tensor, repeat: int) -> float:
    """Fastest of `repeat` calls of module(x) after one warm-up call, in seconds (input cast to the weight's dtype,
    as autocast would). The fastest, not the median: a call whose output lands on pages the allocator has not
    touched yet pays their page faults (up to 2.5× for a 40 MB fp32 map), which is not the kernel's cost."""
    x = x.to(module.weight.dtype)
    times = []
    with torch.inference_mode():
        module(x)
        for _ in range(repeat):
            t0 = time.perf_counter()
            module(x)
            times.append(time.perf_counter() - t0)
    return min(times)


def gflop(module: nn.Conv2d, out_numel: int) -> float:
    """Multiply-adds ×2 of one call: output elements × Cin/groups × kh × kw (weight: Cout×Cin/groups×kh×kw)."""
    _, cin_per_group, kh, kw = module.weight.shape
    return 2 * out_numel * cin_per_group * kh * kw / 1e9


def run(model: str, precision: str, clip: str, frames: int, warmup: int, size: int, repeat: int) -> dict:
    """Time the stages (no hooks), record the convolutions (a second pass with hooks), time each one alone."""
    stage_ms, frame_ms = _propagate(_session(model, precision, clip, size, profile=True), frames, warmup)
    session = _session(model, precision, clip, size, profile=False)
    recorder = ConvRecorder(session.core.net)
    _propagate(session, frames, warmup, on_timed=recorder.start_counting)
    recorder.remove()
    timed = frames - warmup
    per_stage = {k: {"convs": 0, "gflop": 0.0, "conv_ms": 0.0, "stage_ms": stage_ms[k]} for k in STAGES}
    for name, module in recorder.modules.items():
        per_frame = recorder.calls.get(name, 0) / timed
        if per_frame == 0:
            continue
        row = per_stage[STAGE_OF[name.split(".")[0]]]
        row["convs"] += 1
        row["gflop"] += per_frame * gflop(module, recorder.out_numel[name])
        row["conv_ms"] += per_frame * 1000 * time_alone(module, recorder.inputs[name], repeat)
    conv_ms = sum(r["conv_ms"] for r in per_stage.values())
    return {"precision": precision, "frames_timed": timed, "stages": per_stage, "conv_ms": conv_ms,
            "memory_read_ms": stage_ms["memory_read"], "frame_ms": frame_ms, "floor_fps": 1000 / conv_ms,
            "fps": 1000 / frame_ms}


def _session(model: str, precision: str, clip: str, size: int, profile: bool) -> VideoSession:
    """A fresh session on `clip` with one object from its first annotation."""
    session = VideoSession(build_model(model), open_frames(DATA / "JPEGImages" / clip), MemoryConfig(), size=size,
                           precision=precision, profile=profile)
    session.set_mask(0, first_mask(clip, 1))
    return session


def _propagate(session: VideoSession, frames: int, warmup: int,
               on_timed: Callable[[], None] | None = None) -> tuple[dict[str, float], float]:
    """Propagate over the clip's first `frames` frames: (ms per stage, ms per frame) over the frames after
    `warmup`; `on_timed` is called once when those frames begin."""
    stage_s = dict.fromkeys((*STAGES, "memory_read"), 0.0)
    gen = session.propagate(0, stop=frames - 1)
    for _ in range(warmup):
        next(gen)
    if on_timed:
        on_timed()
    t0 = time.perf_counter()
    for result in gen:
        for k in stage_s:
            stage_s[k] += result.timings.get(k, 0.0)
    wall = time.perf_counter() - t0
    timed = frames - warmup
    return {k: 1000 * s / timed for k, s in stage_s.items()}, 1000 * wall / timed


def print_table(model: str, rows: list[dict]) -> None:
    print(f"\nconvolution floor: {model}, one object (ms per frame; value encoder amortised over r)")
    print("| precision | stage | convs | GFLOP | convs alone ms | stage measured ms | conv share |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        for k, s in r["stages"].items():
            share = s["conv_ms"] / s["stage_ms"] if s["stage_ms"] else float("nan")
            print(f"| {r['precision']} | {k} | {s['convs']} | {s['gflop']:.1f} | {s['conv_ms']:.1f} | "
                  f"{s['stage_ms']:.1f} | {share:.0%} |")
        print(f"| {r['precision']} | memory_read | 0 | | | {r['memory_read_ms']:.1f} | |")
        print(f"| {r['precision']} | **frame** | | {sum(s['gflop'] for s in r['stages'].values()):.1f} | "
              f"**{r['conv_ms']:.1f}** (floor **{r['floor_fps']:.2f} frames/s**) | {r['frame_ms']:.1f} "
              f"({r['fps']:.2f} frames/s) | {r['conv_ms'] / r['frame_ms']:.0%} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=str(ROOT / "resources" / "weights" / "xmem-lite.pth"),
                   help="weights file, or a preset name (xmem, xmem-lite) with random weights")
    p.add_argument("--precision", nargs="+", default=["fp32", "mixed", "bf16"])
    p.add_argument("--clip", default="blackswan")
    p.add_argument("--frames", type=int, default=14, help="frames propagated (the first is the given mask)")
    p.add_argument("--warmup", type=int, default=3, help="frames not timed nor counted")
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--repeat", type=int, default=5, help="timed calls per convolution (the fastest counts)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, help="write the rows as JSON")
    a = p.parse_args()
    if not (DATA / "JPEGImages" / a.clip).is_dir():
        sys.exit(f"error: no clip {a.clip!r} under {DATA / 'JPEGImages'}")
    if a.frames <= a.warmup + 1:
        sys.exit("error: --frames must exceed --warmup + 1")
    torch.set_num_threads(a.threads)
    keep_freed_memory()  # as the engine runs
    load_before = os.getloadavg()
    rows = [run(a.model, prec, a.clip, a.frames, a.warmup, a.size, a.repeat) for prec in a.precision]
    model = display_model(a.model)
    print_table(model, rows)
    if a.out:
        meta = {"model": model, "clip": a.clip, "size": a.size, "threads": a.threads, "frames": a.frames,
                "warmup": a.warmup, "repeat": a.repeat, "machine": platform.processor() or platform.machine(),
                "torch": torch.__version__, "load_before": load_before, "load_after": os.getloadavg()}
        a.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
