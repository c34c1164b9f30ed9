"""`main.py eval` end to end on a tiny generated PRED/GT tree."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from xmem_core.cli import evaluate
from xmem_core.io.masks import write_mask


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py")
    sub = parser.add_subparsers(dest="command")
    evaluate.add_parser(sub)
    return parser.parse_args(argv)


def _tree(root: Path, shift: int) -> Path:
    for clip in ("alpha", "beta"):
        for i in range(3):
            m = np.zeros((60, 80), np.uint8)
            dx = shift if clip == "alpha" and i > 0 else 0
            m[10:30, 10 + dx:30 + dx] = 1
            write_mask(root / clip / f"{i:05d}.png", m)
    return root


def test_eval_cli_table_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = _tree(tmp_path / "gt", 0), _tree(tmp_path / "pred", 10)
    csv = tmp_path / "out" / "scores.csv"
    csv.parent.mkdir()
    args = _parse(["eval", str(pred), str(gt), "--csv", str(csv)])
    assert args.func is evaluate.run
    assert args.func(args) == 0
    out = capsys.readouterr().out
    j = 200 / 600  # 20×20 squares shifted by 10 px: 200 overlap, 600 union
    assert "alpha" in out and "beta" in out and "mean" in out
    assert f"{100 * j:.1f}" in out and "100.0" in out
    lines = csv.read_text().splitlines()
    assert lines[0] == "clip,J,F,JF"
    assert [ln.split(",")[0] for ln in lines[1:]] == ["alpha", "beta", "mean"]
    alpha = [float(v) for v in lines[1].split(",")[1:]]
    assert alpha[0] == pytest.approx(100 * j, abs=0.005)
    assert alpha[2] == pytest.approx((alpha[0] + alpha[1]) / 2, abs=0.01)
    assert lines[2] == "beta,100.00,100.00,100.00"
    mean = [float(v) for v in lines[3].split(",")[1:]]
    assert mean[0] == pytest.approx((100 * j + 100) / 2, abs=0.005)
    assert [p.name for p in csv.parent.iterdir()] == ["scores.csv"]


def test_eval_cli_missing_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = _tree(tmp_path / "gt", 0)
    write_mask(tmp_path / "pred" / "alpha" / "00000.png", np.zeros((60, 80), np.uint8))
    args = _parse(["eval", str(tmp_path / "pred"), str(gt)])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "beta" in err and err.startswith("error:")
