"""benchmarks/gpu_check.py in miniature (--device cpu) on a synthetic davis16-dev-like folder: every section runs,
the JSON and the table come out, and a failing or missing section is recorded instead of stopping the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.core.tiny import moving_square_clip

ROOT = Path(__file__).resolve().parents[2]


def _davis(root: Path, clips: int = 2, n: int = 6) -> Path:
    for c in range(clips):
        frames, masks = moving_square_clip(n, h=96, w=160, seed=c)
        (root / "JPEGImages" / f"clip{c}").mkdir(parents=True)
        (root / "Annotations" / f"clip{c}").mkdir(parents=True)
        for i, f in enumerate(frames):
            Image.fromarray(f).save(root / "JPEGImages" / f"clip{c}" / f"{i:05d}.jpg", quality=95)
        Image.fromarray(masks[0]).save(root / "Annotations" / f"clip{c}" / "00000.png")
    return root


@pytest.mark.slow
def test_gpu_check_runs_in_miniature_on_the_cpu(tmp_path: Path) -> None:
    data = _davis(tmp_path / "davis16-dev")
    out = tmp_path / "check.json"
    cmd = [sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--threads", "1", "--data", str(tmp_path),
           "--out", str(out), "--sections", "throughput", "profile", "agreement", "resolution", "long"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    s = report["sections"]
    assert {k: v["status"] for k, v in s.items()} == dict.fromkeys(s, "ok"), {k: v.get("error") for k, v in s.items()}
    assert [(r["model"], r["objects"]) for r in s["throughput"]["rows"]] == [
        ("xmem-lite", 1), ("xmem-lite", 3), ("xmem", 1), ("xmem", 3), ("xmem-lite (no graphs)", 1)]
    assert all(r["fps"] > 0 and r["frames_timed"] > 0 for r in s["throughput"]["rows"])
    assert set(s["profile"]["rows"][0]["stages_ms"]) >= {"key_encoder", "memory_read", "decoder"}
    assert s["agreement"]["frames"] == 2 * 3 and 0.0 <= s["agreement"]["mean_iou"] <= 1.0
    assert [r["input"] for r in s["resolution"]["rows"]] == ["480p", "1080p", "4K"]
    assert all(r["full_resolution_masks"] for r in s["resolution"]["rows"])
    assert [p["frame"] for p in s["long"]["points"]] == [8, 16, 24]
    assert "| xmem-lite | 1 |" in proc.stdout and "| 4K | 960×540 |" in proc.stdout
    assert np.isfinite(report["meta"]["total_s"])
    _ = data


def test_missing_data_is_a_one_line_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--data", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: no davis16-dev layout")


def test_a_failing_or_absent_section_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks import gpu_check

    data = _davis(tmp_path / "davis16-dev", clips=1, n=3)

    def boom(ctx):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setitem(gpu_check.RUNNERS, "throughput", boom)
    monkeypatch.setattr(gpu_check, "ROOT", tmp_path)  # no benchmarks/bench_train.py there
    out = tmp_path / "r.json"
    rc = gpu_check.main(["--device", "cpu", "--data", str(data), "--out", str(out),
                         "--sections", "throughput", "train"])
    s = json.loads(out.read_text())["sections"]
    assert rc == 0 and s["throughput"]["status"] == "failed" and "out of memory" in s["throughput"]["error"]
    assert s["train"]["status"] == "absent"


def test_sections_past_the_budget_are_skipped(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks import gpu_check

    data = _davis(tmp_path / "davis16-dev", clips=1, n=3)
    out = tmp_path / "r.json"
    assert gpu_check.main(["--device", "cpu", "--data", str(data), "--out", str(out), "--budget", "0"]) == 0
    s = json.loads(out.read_text())["sections"]
    assert list(s) == list(gpu_check.SECTIONS) and {v["status"] for v in s.values()} == {"skipped"}
