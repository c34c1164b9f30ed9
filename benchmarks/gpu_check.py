"""Every GPU measurement of issue 19 in one command (at most ~6 minutes on one GPU), one JSON, one table.

    python benchmarks/gpu_check.py                       # CUDA, data from ../shared/data
    python benchmarks/gpu_check.py --data /path/to/data  # a folder holding davis16-dev/ (or davis16-dev itself)
    python benchmarks/gpu_check.py --device cpu          # the same script in miniature (CI, or by hand)

Sections, each with its own time cap (a section that fails or runs out of time is recorded, never fatal):
  throughput  frames/s at 480p, xmem-lite (shipped weights) and xmem (random weights), 1 and 3 objects, engine
              defaults (fp16 autocast, CUDA graphs, async mask copies), no per-stage profiling
  profile     one pass with per-stage profiling (synchronises around each stage; graphs off)
  agreement   masks of the default CUDA path vs the fp32 path (no graphs, fp32): mean IoU over davis16-dev
  resolution  frames/s and peak CUDA memory with 480p, 1080p and 4K input frames (upscaled in memory)
  long        a davis16-dev clip played back and forth: ms/frame and CUDA memory every N frames
  train       50 training iterations at batch 16, 8 frames, 384 px (benchmarks/bench_train.py, a subprocess)
  cuda_tests  pytest -m cuda
Frames are decoded into memory before timing (JPEG decoding is not measured; the prefetch thread still resizes,
uploads and normalises each frame). Needs torch, numpy, OpenCV, Pillow and the project only (no PyAV, no Qt).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SECTIONS = ("throughput", "profile", "agreement", "resolution", "long", "train", "cuda_tests")


@dataclass
class Scale:
    """Sizes of one run: full on CUDA, miniature on the CPU."""

    size: int  # processing short side
    frames: int  # timed frames per throughput configuration
    warmup: int  # untimed frames before them (graph capture happens here)
    clip_frames: int  # frames per davis16-dev clip in the agreement section (0 = all)
    resolutions: dict[str, tuple[int, int]]  # label -> source (H, W) for the resolution section
    res_frames: int  # timed frames per resolution
    long_frames: int  # length of the back-and-forth clip
    long_every: int  # record every this many frames
    train: dict[str, str]  # bench_train flags
    caps: dict[str, float] = field(default_factory=dict)  # seconds per section


CUDA_SCALE = Scale(
    size=480, frames=300, warmup=40, clip_frames=0,
    resolutions={"480p": (480, 854), "1080p": (1080, 1920), "4K": (2160, 3840)}, res_frames=100,
    long_frames=10_000, long_every=500,
    train={"--batch-size": "16", "--frames": "8", "--size": "384", "--iterations": "50", "--warmup": "5"},
    caps={"throughput": 70, "profile": 15, "agreement": 55, "resolution": 45, "long": 50, "train": 75,
          "cuda_tests": 45},
)
CPU_SCALE = Scale(
    size=64, frames=4, warmup=2, clip_frames=4,
    resolutions={"480p": (120, 214), "1080p": (270, 480), "4K": (540, 960)}, res_frames=3,
    long_frames=24, long_every=8,
    train={"--batch-size": "2", "--frames": "3", "--size": "64", "--iterations": "2", "--warmup": "1"},
    caps={"throughput": 40, "profile": 15, "agreement": 20, "resolution": 20, "long": 20, "train": 60,
          "cuda_tests": 120},
)


class SectionTimeoutError(Exception):
    """A section ran past its cap (what it measured so far is kept)."""


# ------------------------------------------------------------------------------------------------ data
def find_davis(data: Path) -> Path:
    """`data` itself when it holds JPEGImages/, else data/davis16-dev."""
    for cand in (data, data / "davis16-dev"):
        if (cand / "JPEGImages").is_dir() and (cand / "Annotations").is_dir():
            return cand
    raise FileNotFoundError(f"no davis16-dev layout (JPEGImages/, Annotations/) in {data}")


def load_clip(davis: Path, clip: str, limit: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """RGB frames (H×W×3 uint8) and the first annotation (H×W uint8, objects > 0) of one clip."""
    paths = sorted((davis / "JPEGImages" / clip).glob("*.jpg"))[: limit or None]
    frames = [cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in paths]
    ann = sorted((davis / "Annotations" / clip).glob("*.png"))[0]
    from PIL import Image

    return frames, (np.asarray(Image.open(ann)) > 0).astype(np.uint8)


def clips_of(davis: Path) -> list[str]:
    return sorted(d.name for d in (davis / "JPEGImages").iterdir() if d.is_dir())


def main_clip(davis: Path) -> str:
    """The clip timed by the throughput, resolution and long sections: blackswan (50 frames) when present."""
    names = clips_of(davis)
    return "blackswan" if "blackswan" in names else names[0]


def split_objects(mask: np.ndarray, objects: int) -> np.ndarray:
    """Foreground of a one-object mask -> ids 1..objects by equal column bands of its bounding box."""
    from benchmarks.bench_propagate import split_objects as split

    return split(mask, objects)


def make_source(frames: list[np.ndarray], length: int | None = None):
    """An in-memory FrameSource; with `length`, the frames played back and forth to that length."""
    from xmem_core.io.base import FrameSource

    period = max(1, 2 * len(frames) - 2)

    class PingPong(FrameSource):
        def __init__(self) -> None:
            super().__init__("memory")

        def __len__(self) -> int:
            return length or len(frames)

        @property
        def size(self) -> tuple[int, int]:
            return frames[0].shape[:2]

        @property
        def names(self) -> list[str]:
            return [f"{i:06d}" for i in range(len(self))]

        def _read(self, index: int) -> np.ndarray:
            t = index % period
            return frames[t if t < len(frames) else period - t]

    return PingPong()


def resize_all(frames: list[np.ndarray], mask: np.ndarray, hw: tuple[int, int]) -> tuple[list, np.ndarray]:
    h, w = hw
    if frames[0].shape[:2] == hw:
        return frames, mask
    return ([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in frames],
            cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST))


# ------------------------------------------------------------------------------------------------ engine
class Ctx:
    """What every section needs: device, scale, data, models, deadlines."""

    def __init__(self, args: argparse.Namespace) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(args.device)
        self.cuda = self.device.type == "cuda"
        self.scale = CUDA_SCALE if self.cuda else CPU_SCALE
        self.data = Path(args.data)
        self.weights = Path(args.weights) if args.weights else None
        self.deadline = float("inf")

    def clip(self) -> tuple[Path, str]:
        davis = find_davis(self.data)
        return davis, main_clip(davis)

    def build(self, model: str):
        """'xmem-lite' = shipped weights (or --weights), 'xmem' = the paper model with random weights (seed 0)."""
        torch = self.torch
        from xmem_core.config import ModelConfig
        from xmem_core.model.checkpoint import load_model
        from xmem_core.model.network import XMem
        from xmem_core.resources import default_weights

        if model == "xmem-lite":
            return load_model(self.weights or default_weights(), device=self.device)
        torch.manual_seed(0)
        return XMem(ModelConfig.by_name(model)).eval().to(self.device)

    def session(self, net, source, **kw):
        from xmem_core.inference.session import VideoSession

        return VideoSession(net, source, size=kw.pop("size", self.scale.size), device=self.device, **kw)

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()
            self.torch.cuda.empty_cache()
            self.torch.cuda.reset_peak_memory_stats()

    def peak_mb(self) -> float | None:
        """Peak CUDA memory since the last reset_peak (None on the CPU)."""
        return self.torch.cuda.max_memory_allocated() / 2**20 if self.cuda else None

    def overall_peak_mb(self, run: dict) -> float | None:
        """Peak over a timed_run: its warm-up (autotuning, capture) and its timed frames."""
        peaks = [p for p in (run.get("warmup_peak_cuda_mb"), self.peak_mb()) if p is not None]
        return max(peaks) if peaks else None

    def now_mb(self) -> float | None:
        return self.torch.cuda.memory_allocated() / 2**20 if self.cuda else None


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_run(ctx: Ctx, session, n: int, warmup: int, keep_masks: bool = False, lag: int = 4) -> dict:
    """Propagate frames 0..n-1 from the keyframe at 0 and time frames warmup..n-1 (all when warmup is 0).

    Masks are collected `lag` frames behind, as a mask writer would: the loop never waits for the GPU except for
    a mask `lag` frames old. The clock starts after the warm-up frames are finished and stops when every mask is
    on the host. Stops early (fewer timed frames) at the section's deadline.
    """
    masks: list[np.ndarray] = []
    stage_sums: dict[str, float] = {}
    pending: deque = deque()
    last_shape = None

    def collect(count: int) -> None:
        nonlocal last_shape
        for _ in range(count):
            mask = pending.popleft().mask  # waits for this mask's copy only
            last_shape = list(mask.shape)
            if keep_masks:
                masks.append(mask.copy())

    timed, warm_peak = 0, None
    t0 = time.perf_counter() if warmup == 0 else None
    gen = session.propagate(0, stop=n - 1)
    for i, res in enumerate(gen):
        pending.append(res)
        if i == warmup - 1:
            collect(len(pending))
            warm_peak = ctx.peak_mb()  # includes cuDNN autotuning and graph capture
            ctx.reset_peak()
            t0 = time.perf_counter()
            continue
        collect(max(0, len(pending) - lag))
        if i >= warmup:
            timed += 1
            for k, v in res.timings.items():
                stage_sums[k] = stage_sums.get(k, 0.0) + v
        if timed and time.perf_counter() > ctx.deadline:
            break
    gen.close()
    collect(len(pending))
    ctx.sync()
    elapsed = time.perf_counter() - t0 if t0 is not None else 0.0
    out = {"frames_timed": timed, "fps": timed / elapsed if elapsed > 0 and timed else None,
           "ms_per_frame": 1000 * elapsed / timed if timed else None,
           "stages_ms": {k: 1000 * v / max(timed, 1) for k, v in stage_sums.items()}, "mask_shape": last_shape,
           "warmup_peak_cuda_mb": warm_peak, "steady_peak_cuda_mb": ctx.peak_mb() if warmup else None}
    if keep_masks:
        out["masks"] = masks
    stats = getattr(session.core.runner, "stats", None)
    if stats is not None:
        out["graphs"] = {k: getattr(stats, k) for k in ("warmups", "captures", "replays", "failures", "eager")}
        out["graphs"]["errors"] = stats.errors[:3]
    return out


# ------------------------------------------------------------------------------------------------ sections
def section_throughput(ctx: Ctx) -> dict:
    sc = ctx.scale
    frames, mask = load_clip(*ctx.clip())
    rows = []
    # the four configurations of the issue's table, then xmem-lite without CUDA graphs (their effect)
    configs = [(m, o, True) for m in ("xmem-lite", "xmem") for o in (1, 3)] + [("xmem-lite", 1, False)]
    start, cap = time.perf_counter(), ctx.deadline
    for k, (model, objects, graphs) in enumerate(configs):
        ctx.deadline = min(cap, time.perf_counter() + (cap - time.perf_counter()) / (len(configs) - k))
        net = ctx.build(model)
        ctx.reset_peak()
        session = ctx.session(net, make_source(frames, sc.warmup + sc.frames), copy_model=False,
                              graphs=graphs and ctx.cuda)
        session.set_mask(0, split_objects(mask, objects))
        run = timed_run(ctx, session, sc.warmup + sc.frames, sc.warmup)
        row = {"model": model if graphs else f"{model} (no graphs)", "objects": objects,
               "precision": session.core.precision, **run,
               "peak_cuda_mb": ctx.overall_peak_mb(run), "peak_rss_mb": rss_mb()}
        rows.append(row)
        del session, net
        ctx.deadline = cap
    return {"rows": rows, "seconds": time.perf_counter() - start, "size": sc.size}


def section_profile(ctx: Ctx) -> dict:
    sc = ctx.scale
    frames, mask = load_clip(*ctx.clip())
    net = ctx.build("xmem-lite")
    ctx.reset_peak()
    session = ctx.session(net, make_source(frames, sc.warmup + sc.frames), copy_model=False, profile=True)
    session.set_mask(0, mask)
    run = timed_run(ctx, session, sc.warmup + sc.frames, sc.warmup)
    row = {"model": "xmem-lite", "objects": 1, "precision": session.core.precision, **run,
           "peak_cuda_mb": ctx.overall_peak_mb(run)}
    return {"rows": [row]}


def section_agreement(ctx: Ctx) -> dict:
    """Mean IoU (frames 1..) of the default path's masks against the fp32 path's, per clip and overall."""
    davis = find_davis(ctx.data)
    net = ctx.build("xmem-lite")
    per_clip, ious, clips, partial = {}, [], clips_of(davis), False
    for clip in clips:
        if time.perf_counter() > ctx.deadline:
            break
        frames, mask = load_clip(davis, clip, ctx.scale.clip_frames)
        src, n = make_source(frames), len(frames)
        got = {}
        for name, kw in (("fp32", {"precision": "fp32", "graphs": False}), ("default", {})):
            session = ctx.session(net, src, **kw)
            session.set_mask(0, mask)
            got[name] = timed_run(ctx, session, n, 0, keep_masks=True)["masks"]
            partial = partial or len(got[name]) < n
        clip_ious = [iou(a > 0, b > 0) for a, b in zip(got["fp32"][1:], got["default"][1:], strict=False)]
        if clip_ious:
            per_clip[clip] = {"frames": len(clip_ious) + 1, "mean_iou": float(np.mean(clip_ious)),
                              "min_iou": float(np.min(clip_ious))}
            ious.extend(clip_ious)
    if not ious:
        raise SectionTimeoutError("no clip finished")
    from xmem_core.inference.core import resolve_precision

    return {"mean_iou": float(np.mean(ious)), "min_iou": float(np.min(ious)), "frames": len(ious),
            "complete": len(per_clip) == len(clips) and not partial,
            "default_precision": resolve_precision("auto", ctx.device), "per_clip": per_clip}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def section_resolution(ctx: Ctx) -> dict:
    sc = ctx.scale
    frames0, mask0 = load_clip(*ctx.clip(), sc.warmup + sc.res_frames)
    n = sc.warmup + sc.res_frames
    rows, cap = [], ctx.deadline
    items = list(sc.resolutions.items())
    for k, (label, hw) in enumerate(items):
        ctx.deadline = min(cap, time.perf_counter() + (cap - time.perf_counter()) / (len(items) - k))
        frames, mask = resize_all(frames0, mask0, hw)
        net = ctx.build("xmem-lite")
        ctx.reset_peak()
        session = ctx.session(net, make_source(frames, n), copy_model=False)
        session.set_mask(0, mask)
        run = timed_run(ctx, session, n, sc.warmup)
        rows.append({"input": label, "source_hw": list(hw), "processing_hw": list(session.geometry.padded),
                     "fps": run["fps"], "frames_timed": run["frames_timed"], "mask_shape": run["mask_shape"],
                     "full_resolution_masks": run["mask_shape"] == list(hw),
                     "peak_cuda_mb": ctx.overall_peak_mb(run), "steady_peak_cuda_mb": run["steady_peak_cuda_mb"],
                     "peak_rss_mb": rss_mb()})
        del session, net, frames
        ctx.deadline = cap
    return {"rows": rows}


def section_long(ctx: Ctx) -> dict:
    sc = ctx.scale
    frames, mask = load_clip(*ctx.clip())
    net = ctx.build("xmem-lite")
    ctx.reset_peak()
    session = ctx.session(net, make_source(frames, sc.long_frames), copy_model=False)
    session.set_mask(0, mask)
    points, t_last, done, pending = [], time.perf_counter(), 0, deque()
    gen = session.propagate(0)
    for i, res in enumerate(gen):
        done = i + 1
        pending.append(res)
        while len(pending) > 4:
            pending.popleft().mask  # noqa: B018 - collected 4 frames behind, as a writer would
        if done % sc.long_every == 0:
            ctx.sync()
            now = time.perf_counter()
            points.append({"frame": done, "ms_per_frame": 1000 * (now - t_last) / sc.long_every,
                           "cuda_mb": ctx.now_mb(), "peak_cuda_mb": ctx.peak_mb(), "rss_mb": rss_mb(),
                           "working_frames": res.stats.working_frames,
                           "long_term_elements": res.stats.long_term_elements})
            t_last = now
        if time.perf_counter() > ctx.deadline:
            break
    gen.close()
    return {"frames_planned": sc.long_frames, "frames_done": done, "points": points,
            "complete": done == sc.long_frames}


def section_train(ctx: Ctx) -> dict:
    script = ROOT / "benchmarks" / "bench_train.py"
    if not script.is_file():
        return {"status": "absent", "note": "benchmarks/bench_train.py is not in this checkout (issue 15)"}
    with tempfile.TemporaryDirectory(prefix="gpu-check-train-") as tmp:
        out = Path(tmp) / "train.json"
        cmd = [sys.executable, str(script), "--device", str(ctx.device), "--model", "xmem-lite",
               *[x for kv in ctx.scale.train.items() for x in kv], "--json", str(out)]
        if ctx.cuda:
            cmd.append("--amp")
        proc = run_capped(ctx, cmd)
        result = {"command": " ".join(cmd[1:]), "returncode": proc.returncode,
                  "output_tail": (proc.stdout + proc.stderr)[-1500:]}
        if proc.returncode == 0 and out.is_file():
            result["result"] = json.loads(out.read_text())
        else:
            result["status"] = "failed"
        return result


def section_cuda_tests(ctx: Ctx) -> dict:
    """`pytest -m cuda` on the test files that hold CUDA tests only (collecting the app tests would need Qt)."""
    import importlib.util

    if importlib.util.find_spec("pytest") is None:
        return {"status": "absent", "note": "pytest is not installed"}
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py")
                   if "mark.cuda" in p.read_text(encoding="utf-8", errors="replace"))
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", *files]
    proc = run_capped(ctx, cmd, env={"QT_QPA_PLATFORM": "offscreen"})
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    result = {"command": " ".join(cmd[1:]), "returncode": proc.returncode, "summary": lines[-1] if lines else "",
              "output_tail": (proc.stdout + proc.stderr)[-1500:]}
    if proc.returncode not in (0, 5):  # 5: nothing collected/selected
        result["status"] = "failed"
    return result


def run_capped(ctx: Ctx, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    timeout = max(1.0, ctx.deadline - time.perf_counter())
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as exc:
        raise SectionTimeoutError(f"{Path(cmd[1]).name} ran past {timeout:.0f} s") from exc


RUNNERS: dict[str, Callable[[Ctx], dict]] = {
    "throughput": section_throughput, "profile": section_profile, "agreement": section_agreement,
    "resolution": section_resolution, "long": section_long, "train": section_train,
    "cuda_tests": section_cuda_tests,
}


def run_section(ctx: Ctx, name: str, budget_end: float) -> dict:
    """Run one section under its cap; any failure is recorded in the result instead of raised."""
    t0 = time.perf_counter()
    ctx.deadline = min(t0 + ctx.scale.caps[name], budget_end)
    if budget_end - t0 < 5:
        return {"status": "skipped", "error": "the total budget (--budget) is spent", "seconds": 0.0}
    try:
        out = RUNNERS[name](ctx)
        out.setdefault("status", "ok")
    except SectionTimeoutError as exc:
        out = {"status": "timeout", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - recorded; the next section still runs
        out = {"status": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
               "traceback": traceback.format_exc()[-2000:]}
    finally:
        if ctx.cuda:
            import gc

            gc.collect()
            ctx.torch.cuda.empty_cache()
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


# ------------------------------------------------------------------------------------------------ report
def meta(ctx: Ctx, args: argparse.Namespace) -> dict:
    torch = ctx.torch
    return {"device": str(ctx.device),
            "gpu": torch.cuda.get_device_name(ctx.device) if ctx.cuda else None,
            "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "scale": asdict(ctx.scale), "argv": sys.argv[1:], "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "data": str(args.data)}


def fmt(x: float | None, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def table(report: dict) -> str:
    s = report["sections"]
    out = [f"gpu_check on {report['meta']['gpu'] or report['meta']['device']} (torch {report['meta']['torch']}), "
           f"{report['meta']['total_s']:.0f} s"]
    out.append("\n| model | objects | frames/s | key ms | read ms | decoder ms | value ms | other ms | peak CUDA MB "
               "| steady CUDA MB | peak RSS MB | graphs (captured/replayed/failed) |\n| --- | --- | --- | --- | --- "
               "| --- | --- | --- | --- | --- | --- | --- |")
    for sec, tag in (("throughput", ""), ("profile", " (profiled)")):
        for r in s.get(sec, {}).get("rows", []):
            st = r.get("stages_ms", {})
            stages = [st.get(k) if tag else None for k in ("key_encoder", "memory_read", "decoder", "value_encoder")]
            other = r["ms_per_frame"] - sum(x for x in stages if x) if tag and r["ms_per_frame"] else None
            g = r.get("graphs")
            gtxt = f"{g['captures']}/{g['replays']}/{g['failures']}" if g else "eager"
            memory = [fmt(r.get(k), ",.0f") for k in ("peak_cuda_mb", "steady_peak_cuda_mb", "peak_rss_mb")]
            cells = [f"{r['model']}{tag}", str(r["objects"]), fmt(r["fps"]), *map(fmt, stages), fmt(other), *memory]
            out.append("| " + " | ".join([*cells, gtxt]) + " |")
    a = s.get("agreement", {})
    if "mean_iou" in a:
        graphs = " + CUDA graphs" if report["meta"]["gpu"] else ""
        out.append(f"\nagreement ({a['default_precision']}{graphs} vs fp32, shipped weights, {a['frames']} frames): "
                   f"mean IoU {a['mean_iou']:.4f}, min {a['min_iou']:.4f}")
    if s.get("resolution", {}).get("rows"):
        out.append("\n| input | source | processing | frames/s | peak CUDA MB | steady CUDA MB | full-res masks |\n"
                   "| --- | --- | --- | --- | --- | --- | --- |")
        for r in s["resolution"]["rows"]:
            out.append(f"| {r['input']} | {r['source_hw'][1]}×{r['source_hw'][0]} | "
                       f"{r['processing_hw'][1]}×{r['processing_hw'][0]} | {fmt(r['fps'])} | "
                       f"{fmt(r['peak_cuda_mb'], ',.0f')} | {fmt(r['steady_peak_cuda_mb'], ',.0f')} | "
                       f"{r['full_resolution_masks']} |")
    lg = s.get("long", {})
    if lg.get("points"):
        out.append(f"\nlong clip: {lg['frames_done']}/{lg['frames_planned']} frames\n| frame | ms/frame | CUDA MB | "
                   "LT elements |\n| --- | --- | --- | --- |")
        out += [f"| {p['frame']} | {p['ms_per_frame']:.2f} | {fmt(p['cuda_mb'], ',.0f')} | {p['long_term_elements']} |"
                for p in lg["points"]]
    tr = s.get("train", {})
    if tr:
        res = tr.get("result", {})
        out.append(f"\ntraining probe: {tr['status']}" + (f" {json.dumps(res)[:300]}" if res else "")
                   + (f" ({tr.get('note') or tr.get('error', '')})" if tr["status"] != "ok" else ""))
    ct = s.get("cuda_tests", {})
    if ct:
        out.append(f"cuda tests: {ct['status']} {ct.get('summary', ct.get('error', ''))}")
    out.append("\nsections: " + ", ".join(f"{k} {v['status']} ({v['seconds']:.0f} s)" for k, v in s.items()))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for the miniature run")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder holding davis16-dev/ (default ../shared/data)")
    p.add_argument("--weights", default=None, help="xmem-lite weights (default: the shipped ones)")
    p.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch default)")
    p.add_argument("--budget", type=float, default=350.0, help="seconds for all sections together (default 350)")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/gpu_check_*.json)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    ctx = Ctx(args)
    if args.threads > 0:
        ctx.torch.set_num_threads(args.threads)
    if ctx.cuda and not ctx.torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device (use --device cpu for the miniature run)",
              file=sys.stderr)
        return 2
    try:
        find_davis(ctx.data)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if ctx.cuda:
        ctx.torch.cuda.set_device(ctx.device)
    report = {"meta": meta(ctx, args), "sections": {}}
    for name in args.sections:
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
        report["sections"][name] = run_section(ctx, name, t0 + args.budget)
        print(f"    {report['sections'][name]['status']} in {report['sections'][name]['seconds']:.1f} s", flush=True)
    report["meta"]["total_s"] = time.perf_counter() - t0
    out = args.out or ROOT / "benchmarks" / "results" / f"gpu_check_{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(table(report))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
