"""benchmarks/bench_train.py: the interface benchmarks/gpu_check.py calls (flags, `run_bench(args) -> dict`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_train  # noqa: E402


def test_flags_and_result(data_root: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "davis16-train").symlink_to(data_root / "davis")
    out = tmp_path / "r.json"
    argv = ["--device", "cpu", "--model", "xmem-lite", "--batch-size", "1", "--frames", "3", "--size", "64",
            "--iterations", "1", "--warmup", "1", "--amp", "auto", "--no-channels-last", "--no-compile",
            "--data", str(tmp_path / "data"), "--threads", "1", "--json", str(out)]
    assert bench_train.main(argv) == 0
    r = json.loads(out.read_text())
    assert set(r["ms"]) == {"data", "forward", "backward", "optimizer"} and r["it_per_s"] > 0
    assert r["amp_dtype"] == "off" and r["compiled"] is False and r["args"]["channels_last"] is False
    direct = bench_train.run_bench(bench_train.parse_args(argv[:-2]))
    assert direct["args"]["frames"] == 3 and "it_per_s_nosync" not in direct  # CPU: no second pass
    assert bench_train.parse_args(["--amp"]).amp == "auto"  # benchmarks/gpu_check.py passes a bare --amp


def test_missing_data_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_train.main(["--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
