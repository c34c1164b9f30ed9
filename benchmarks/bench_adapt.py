"""Per-clip adaptation from keyframes (training/adapt.py): J&F of base weights against adapted weights.

For every clip of davis16-dev and every budget, two settings (docs/ADAPT.md):
  a) adapt on the first frame's ground truth; propagate from frame 0, score frames 1..end;
  b) adapt on the first frame and the middle frame's ground truth (the editor's correction); memory holds frame 0
     and the middle frame, propagate from the middle frame, score the frames after it.
The base weights (budget 0) are scored the same way, with the same masks in memory. Rows are appended to the JSON
after every run (budgets in ascending order), so an interrupted run keeps what it measured; `--table` prints the
Markdown tables of a results file.

    nice -n 5 python benchmarks/bench_adapt.py --model ../shared/weights/xmem-lite-gpu1.pth --budgets 10 30 120 \
        --threads 2 --out benchmarks/results/adapt_cpu.json
    python benchmarks/bench_adapt.py --table benchmarks/results/adapt_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.adapt import AdaptConfig, Keyframe, adapt_network  # noqa: E402
from xmem_core.inference.session import VideoSession  # noqa: E402
from xmem_core.io.frames import open_frames  # noqa: E402
from xmem_core.io.masks import read_mask  # noqa: E402
from xmem_core.metrics.davis import object_scores  # noqa: E402
from xmem_core.model.checkpoint import load_model  # noqa: E402
from xmem_core.model.network import XMem  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis16-dev"


def score(net: XMem, clip: str, setting: str, size: int, device: str) -> tuple[float, float, int, float]:
    """(J, F, frames scored, seconds) of `net` on one clip in setting "a" or "b"."""
    frames = open_frames(DATA / "JPEGImages" / clip)
    gt_dir = DATA / "Annotations" / clip
    gts = [read_mask(gt_dir / f"{name}.png", size=tuple(frames.size)) for name in frames.names]
    n, mid = len(frames), len(frames) // 2
    t0 = time.perf_counter()
    session = VideoSession(net, frames, size=size, device=device)
    session.set_mask(0, gts[0])
    if setting == "a":
        results = session.propagate(0)
    else:
        session.set_mask(mid, gts[mid])
        for _ in session.propagate(0, stop=0):  # frame 0 into memory
            pass
        results = session.propagate(mid, stop=n - 1)
    js, fs = [], []
    for res in results:
        if res.is_keyframe:
            continue
        j, f = object_scores(res.mask, gts[res.frame], 1)
        js.append(j)
        fs.append(f)
    frames.close()
    return float(np.mean(js)), float(np.mean(fs)), len(js), time.perf_counter() - t0


def keyframes(clip: str, setting: str) -> list[Keyframe]:
    frames = open_frames(DATA / "JPEGImages" / clip)
    names = frames.names
    picks = [0] if setting == "a" else [0, len(frames) // 2]
    out = [Keyframe(i, frames[i], read_mask(DATA / "Annotations" / clip / f"{names[i]}.png",
                                            size=tuple(frames.size))) for i in picks]
    frames.close()
    return out


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    base = load_model(args.model, device=args.device)
    clips = args.clips or sorted(d.name for d in (DATA / "JPEGImages").iterdir() if d.is_dir())
    out = Path(args.out)
    rows = json.loads(out.read_text())["rows"] if out.exists() and args.resume else []
    done = {(r["budget_s"], r["clip"], r["setting"]) for r in rows}
    meta = {"model": args.model, "threads": args.threads, "size": args.size, "params": args.params,
            "command": " ".join(sys.argv)}
    for budget in [0.0, *args.budgets]:
        for clip in clips:
            for setting in args.settings:
                if (budget, clip, setting) in done:
                    continue
                load = os.getloadavg()[0]
                net, steps, adapt_s, losses = base, 0, 0.0, []
                if budget > 0:
                    cfg = AdaptConfig(budget_s=budget, params=args.params, size=args.size, lr=args.lr)
                    res = adapt_network(base, keyframes(clip, setting), cfg)
                    net, steps, adapt_s, losses = res.net, res.steps, res.seconds, res.losses
                j, f, n, eval_s = score(net, clip, setting, args.size, args.device)
                row = {"budget_s": budget, "clip": clip, "setting": setting, "J": j, "F": f, "JF": (j + f) / 2,
                       "frames": n, "steps": steps, "adapt_s": round(adapt_s, 1), "eval_s": round(eval_s, 1),
                       "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
                       "load": round(load, 2)}
                rows.append(row)
                print(json.dumps(row), flush=True)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


def table(path: Path) -> str:
    """Markdown: per setting, one row per clip, J&F of base and each budget with (steps, seconds)."""
    data = json.loads(path.read_text())
    rows = data["rows"]
    lines = []
    for setting in ("a", "b"):
        sel = [r for r in rows if r["setting"] == setting]
        if not sel:
            continue
        budgets = sorted({r["budget_s"] for r in sel})
        clips = sorted({r["clip"] for r in sel})
        head = ["clip", "base J&F"] + [f"{b:g} s: J&F (Δ), steps, time" for b in budgets if b > 0]
        lines += [f"\nSetting {setting}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        by = {(r["budget_s"], r["clip"]): r for r in sel}
        for clip in [*clips, "mean"]:
            cells = [clip]
            for b in budgets:
                if clip == "mean":
                    rs = [by[(b, c)] for c in clips if (b, c) in by]
                    if not rs or len(rs) < len(clips):
                        cells.append(f"({len(rs)}/{len(clips)} clips)")
                        continue
                    jf = float(np.mean([r["JF"] for r in rs]))
                    base = float(np.mean([by[(0.0, c)]["JF"] for c in clips]))
                    r = {"JF": jf, "steps": np.mean([x["steps"] for x in rs]),
                         "adapt_s": np.mean([x["adapt_s"] for x in rs])}
                else:
                    r = by.get((b, clip))
                    base = by[(0.0, clip)]["JF"] if (0.0, clip) in by else float("nan")
                    if r is None:
                        cells.append("not run")
                        continue
                    jf = r["JF"]
                if b == 0:
                    cells.append(f"{jf:.3f}")
                else:
                    cells.append(f"{jf:.3f} ({jf - base:+.3f}), {r['steps']:.3g}, {r['adapt_s']:.0f} s")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="../shared/weights/xmem-lite-gpu1.pth")
    p.add_argument("--budgets", type=float, nargs="+", default=[10, 30, 120], help="adaptation budgets (s)")
    p.add_argument("--settings", nargs="+", default=["a", "b"], choices=["a", "b"])
    p.add_argument("--params", default="decoder+value", help="AdaptConfig.params")
    p.add_argument("--lr", type=float, default=AdaptConfig.lr)
    p.add_argument("--clips", nargs="*")
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="benchmarks/results/adapt_cpu.json")
    p.add_argument("--resume", action="store_true", help="skip the runs already in --out")
    p.add_argument("--table", type=Path, help="print the Markdown tables of a results file and exit")
    args = p.parse_args()
    if args.table:
        print(table(args.table))
        return
    run(args)


if __name__ == "__main__":
    main()
