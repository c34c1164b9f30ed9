"""Propagation throughput on davis16-dev at 480p: our engine (and optionally the reference-style baseline).

Each variant (model × precision × objects × device × implementation) runs in a fresh subprocess, so peak RSS
(ru_maxrss) and peak CUDA memory are its own. Per-stage times come from FrameResult.timings (profile=True: CUDA is
synchronised around each stage); "other" is the rest of the frame's wall time (frame decode, pre/post-processing).
The first --warmup frames of each clip are excluded from timing. With --baseline the engine's and the baseline's
masks are compared (mean IoU per object over frames 1.., and max |Δprob|).

    python benchmarks/bench_propagate.py --models xmem xmem-lite --precision fp32 --objects 1 \
        --clips blackswan car-shadow --max-frames 30 --baseline
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis16-dev"  # ../shared/data beside the repo
RESULTS = ROOT / "benchmarks" / "results"
STAGES = ("key_encoder", "memory_read", "decoder", "value_encoder")
sys.path.insert(0, str(ROOT))


# ------------------------------------------------------------------------------------------------ helpers
def build_model(spec: str):
    """A weights file path, or a preset name ('xmem', 'xmem-lite') with random weights (seed 0)."""
    import torch

    from xmem_core.config import ModelConfig
    from xmem_core.model.checkpoint import load_model
    from xmem_core.model.network import XMem

    if Path(spec).is_file():
        return load_model(spec)
    torch.manual_seed(0)
    return XMem(ModelConfig.by_name(spec)).eval()


def display_model(spec: str) -> str:
    """A weights path relative to the repository when it lies inside it, else `spec` as given (tables, JSON)."""
    path = Path(spec).resolve()
    return str(path.relative_to(ROOT)) if path.is_file() and path.is_relative_to(ROOT) else spec


def split_objects(mask: np.ndarray, objects: int) -> np.ndarray:
    """H×W mask of one object -> ids 1..objects by equal column bands of its bounding box (left to right)."""
    fg = mask > 0
    if objects == 1 or not fg.any():
        return fg.astype(np.uint8)
    xs = np.nonzero(fg)[1]
    cuts = np.linspace(xs.min(), xs.max() + 1, objects + 1).astype(int)
    out = np.zeros(mask.shape, np.uint8)
    for i in range(objects):
        band = np.zeros(mask.shape, bool)
        band[:, cuts[i] : cuts[i + 1]] = True
        out[fg & band] = i + 1
    return out


def first_mask(clip: str, objects: int) -> np.ndarray:
    from xmem_core.io.masks import read_mask

    ann = sorted((DATA / "Annotations" / clip).glob("*.png"))[0]
    return split_objects(read_mask(ann), objects)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ------------------------------------------------------------------------------------------------ worker
def run_variant(v: dict) -> dict:
    """Run one variant over its clips in this process. v: impl, model, precision, objects, device, clips, ..."""
    import torch

    from benchmarks.reference_baseline import run_reference
    from xmem_core.config import MemoryConfig
    from xmem_core.inference.core import resolve_precision
    from xmem_core.inference.session import VideoSession
    from xmem_core.io.frames import open_frames

    torch.set_num_threads(v["threads"])
    dev = torch.device(v["device"])
    net = build_model(v["model"]).to(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_clip, frame_times, stage_sums = {}, [], dict.fromkeys(STAGES, 0.0)
    for clip in v["clips"]:
        src = open_frames(DATA / "JPEGImages" / clip)
        n = min(v["max_frames"] or len(src), len(src))
        mask0 = first_mask(clip, v["objects"])
        if v["impl"] == "engine":
            session = VideoSession(net, src, MemoryConfig(), size=v["size"], device=dev,
                                   precision=v["precision"], profile=True, copy_model=False)  # as the CLI does
            session.set_mask(0, mask0)
            gen = session.propagate(0, stop=n - 1, with_prob=v["dump"] is not None)
        else:
            # the reference has no mixed mode: its loop runs in fp32 for 'mixed'
            amp = {"fp32": None, "mixed": None, "bf16": torch.bfloat16, "fp16": torch.float16}[
                resolve_precision(v["precision"], dev)]
            gen = run_reference(net, src, mask0, MemoryConfig(), size=v["size"], num_frames=n, device=dev,
                                autocast=amp)
        times = _consume(gen, n, v, clip, stage_sums, frame_times)
        per_clip[clip] = {"frames": n, "timed": len(times), "fps": len(times) / max(sum(times), 1e-9)}
    timed = len(frame_times)
    total = sum(frame_times)
    stages_ms = {k: 1000 * s / max(timed, 1) for k, s in stage_sums.items()}
    stages_ms["other"] = 1000 * total / max(timed, 1) - sum(stages_ms.values())
    return {
        **{k: v[k] for k in ("impl", "model", "precision", "objects", "device", "threads", "winograd")},
        "precision_resolved": resolve_precision(v["precision"], dev),
        "frames_timed": timed,
        "fps": timed / max(total, 1e-9),
        "ms_per_frame": 1000 * total / max(timed, 1),
        "stages_ms": stages_ms,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_model_mb": rss_model,
        "peak_cuda_mb": torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else None,
        "per_clip": per_clip,
    }


def _consume(gen, n: int, v: dict, clip: str, stage_sums: dict[str, float], frame_times: list[float]) -> list[float]:
    """Iterate a propagation generator, timing each frame; optionally dump masks (T×H×W) and probs (T×(N+1)×H×W)."""
    import torch

    sync = torch.cuda.synchronize if v["device"].startswith("cuda") else (lambda: None)
    masks = probs = None
    times: list[float] = []
    for t in range(n):
        t0 = time.perf_counter()
        res = next(gen)
        sync()
        dt = time.perf_counter() - t0
        if t >= v["warmup"]:
            times.append(dt)
            for k in STAGES:
                stage_sums[k] += res.timings.get(k, 0.0)
        if v["dump"] is not None:
            if masks is None:
                masks, probs = _open_dumps(Path(v["dump"]) / clip, n, res.mask.shape, res.prob.shape[0])
            masks[t] = res.mask
            probs[t] = res.prob.float().cpu().numpy()
    gen.close()
    frame_times.extend(times)
    if masks is not None:
        masks.flush()
        probs.flush()
    return times


def _open_dumps(folder: Path, n: int, hw: tuple[int, int], channels: int):
    folder.mkdir(parents=True, exist_ok=True)
    fmt = np.lib.format
    masks = fmt.open_memmap(folder / "masks.npy", mode="w+", dtype=np.uint8, shape=(n, *hw))
    probs = fmt.open_memmap(folder / "probs.npy", mode="w+", dtype=np.float32, shape=(n, channels, *hw))
    return masks, probs


# ------------------------------------------------------------------------------------------------ driver
def spawn(variant: dict) -> dict:
    """Run a variant in a fresh interpreter; returns its result dict."""
    env = {**os.environ, "OMP_NUM_THREADS": str(variant["threads"]), "MKL_NUM_THREADS": str(variant["threads"]),
           "XMEM_WINOGRAD": "1" if variant["winograd"] == "on" else "0"}
    with tempfile.NamedTemporaryFile("r", suffix=".json") as fh:
        cmd = [sys.executable, __file__, "--worker", json.dumps(variant), "--worker-out", fh.name]
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
        return json.loads(Path(fh.name).read_text())


def agreement(dump_a: Path, dump_b: Path, clips: list[str], tie: float = 1e-4) -> dict:
    """Mean / min IoU per object over frames 1.., max |Δprob|, and mask mismatches away from argmax near-ties.

    With random weights several objects often get (near-)equal probabilities, where a 1e-7 difference flips the
    argmax; `decided_mismatch_px` counts differing pixels whose top-2 probability gap (in dump_a) exceeds `tie`.
    """
    ious, max_diff, mismatch = [], 0.0, 0
    for clip in clips:
        ma, mb, pa, pb = (np.load(d / clip / f, mmap_mode="r") for d, f in
                          ((dump_a, "masks.npy"), (dump_b, "masks.npy"), (dump_a, "probs.npy"), (dump_b, "probs.npy")))
        for t in range(1, len(ma)):
            max_diff = max(max_diff, float(np.abs(pa[t] - pb[t]).max()))
            top2 = np.sort(pa[t], axis=0)[-2:]
            mismatch += int(((ma[t] != mb[t]) & (top2[1] - top2[0] > tie)).sum())
            for obj in range(1, pa.shape[1]):
                a, b = ma[t] == obj, mb[t] == obj
                union = np.logical_or(a, b).sum()
                ious.append(1.0 if union == 0 else np.logical_and(a, b).sum() / union)
    return {"mean_iou": float(np.mean(ious)), "min_iou": float(np.min(ious)), "max_abs_prob_diff": max_diff,
            "decided_mismatch_px": mismatch}


def variants(args: argparse.Namespace, dump_root: Path | None) -> list[dict]:
    """All variants, engine and baseline interleaved per configuration."""
    out = []
    for model in args.models:
        for precision in args.precision:
            for objects in args.objects:
                for device in args.device:
                    impls = ("engine", "baseline") if args.baseline else ("engine",)
                    if precision == "mixed" and "fp32" in args.precision:
                        impls = ("engine",)  # its baseline would be the fp32 one again
                    winos = args.winograd if precision != "fp32" else args.winograd[:1]  # fp32 never uses it
                    runs = [(i, w) for i in impls for w in (winos if i == "engine" else ["off"])]
                    first_engine = len(out)  # a baseline is compared with the first engine run before it
                    for impl, wino in runs:  # the reference has no Winograd path
                        tag = f"{impl}-{Path(model).stem}-{precision}-{objects}obj-{device}"
                        tag += "-nowino" if impl == "engine" and wino == "off" else ""
                        out.append({
                            "impl": impl, "model": model, "precision": precision, "objects": objects,
                            "device": device, "threads": args.threads, "clips": args.clips, "size": args.size,
                            "max_frames": args.max_frames, "warmup": args.warmup, "winograd": wino,
                            "dump": str(dump_root / tag) if dump_root else None, "tag": tag,
                            "compare_with": out[first_engine]["dump"] if impl == "baseline" else None,
                        })
    return out


def print_table(rows: list[dict]) -> None:
    head = (f"{'impl':9} {'wino':4} {'model':10} {'prec':5} {'dev':5} {'obj':>3} {'fps':>6} {'key':>7} {'read':>7} "
            f"{'dec':>7} {'value':>7} {'other':>7} {'RSS MB':>7} {'CUDA MB':>8}")
    print(head + "\n" + "-" * len(head))
    for r in rows:
        s = r["stages_ms"]
        cuda = f"{r['peak_cuda_mb']:8.0f}" if r["peak_cuda_mb"] is not None else f"{'-':>8}"
        print(f"{r['impl']:9} {r.get('winograd', 'off'):4} {Path(r['model']).stem:10} {r['precision_resolved']:5} "
              f"{r['device']:5} {r['objects']:3d} {r['fps']:6.2f} {s['key_encoder']:7.1f} {s['memory_read']:7.1f} "
              f"{s['decoder']:7.1f} {s['value_encoder']:7.1f} {s['other']:7.1f} {r['peak_rss_mb']:7.0f} {cuda}")
    print("(per-stage columns: mean ms per timed frame; value encoder runs on memory frames only)")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["xmem-lite"], help="weights files or presets xmem / xmem-lite")
    p.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "mixed", "bf16", "fp16", "auto"])
    p.add_argument("--objects", nargs="+", type=int, default=[1], help="1, or N to split the object into N")
    p.add_argument("--device", nargs="+", default=["cpu"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clips", nargs="+", default=sorted(d.name for d in (DATA / "JPEGImages").iterdir()))
    p.add_argument("--max-frames", type=int, default=0, help="frames per clip (0 = all)")
    p.add_argument("--warmup", type=int, default=3, help="frames per clip excluded from timing")
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--winograd", nargs="+", default=["on"], choices=["on", "off"],
                   help="engine with / without Winograd for the wide bf16 3×3 convolutions (XMEM_WINOGRAD)")
    p.add_argument("--baseline", action="store_true", help="also run the reference-style baseline and compare")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/propagate_*.json)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        Path(args.worker_out).write_text(json.dumps(run_variant(json.loads(args.worker))))
        return
    run_all(args)


def run_all(args: argparse.Namespace) -> None:
    load0 = load_average()
    with tempfile.TemporaryDirectory(prefix="xmem-bench-") as tmp:
        dump_root = Path(tmp) if args.baseline else None
        rows, agree = [], []
        for v in variants(args, dump_root):
            print(f"[{time.strftime('%H:%M:%S')}] {v['tag']} ...", flush=True)
            rows.append({**spawn(v), "tag": v["tag"]})
            if v["impl"] == "baseline":
                agree.append({"config": v["tag"].removeprefix("baseline-"),
                              **agreement(Path(v["compare_with"]), Path(v["dump"]), args.clips)})
    print(f"\nclips: {' '.join(args.clips)}; frames/clip: {args.max_frames or 'all'}; warm-up {args.warmup}; "
          f"{args.size}p; threads {args.threads}; load average before/after: {load0} / {load_average()}\n")
    print_table(rows)
    for a in agree:
        print(f"agreement {a['config']}: mean IoU {a['mean_iou']:.5f} (min {a['min_iou']:.5f}), "
              f"max |Δprob| {a['max_abs_prob_diff']:.2e}, "
              f"mismatched px outside near-ties: {a['decided_mismatch_px']}")
    save(args, rows, agree, load0)


def save(args: argparse.Namespace, rows: list[dict], agree: list[dict], load0: list[float]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"propagate_{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta = {"args": {k: (str(x) if isinstance(x, Path) else x) for k, x in vars(args).items()},
            "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "load_average_before": load0, "load_average_after": load_average()}
    out.write_text(json.dumps({"meta": meta, "results": rows, "agreement": agree}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
