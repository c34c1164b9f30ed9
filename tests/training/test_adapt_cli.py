"""`main.py propagate --adapt SECONDS` on a tiny clip: adapts, propagates, never writes the weights file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import main
from tests.core.tiny import moving_square_clip, tiny_weights, write_frame_folder
from xmem_core.io.masks import write_mask


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def clip(tmp_path: Path) -> tuple[Path, Path, Path]:
    frames, masks = moving_square_clip(6)
    folder = write_frame_folder(tmp_path / "frames", frames)
    mask = tmp_path / "mask.png"
    write_mask(mask, masks[0])
    return folder, mask, tiny_weights(tmp_path / "tiny.pth")


def _args(folder: Path, mask: Path, weights: Path, out: Path, *extra: str) -> list[str]:
    return ["propagate", str(folder), "--mask", str(mask), "--out", str(out), "--model", str(weights),
            "--size", "48", "--threads", "1", *extra]


def test_propagate_with_adapt(clip, tmp_path: Path, capsys) -> None:
    folder, mask, weights = clip
    digest = _sha(weights)
    assert main.main(_args(folder, mask, weights, tmp_path / "out", "--adapt", "1")) == 0
    assert len(list((tmp_path / "out").glob("*.png"))) == 6
    assert _sha(weights) == digest
    assert "adapted decoder+value in" in capsys.readouterr().err


def test_negative_adapt_is_a_one_line_error(clip, tmp_path: Path, capsys) -> None:
    folder, mask, weights = clip
    assert main.main(_args(folder, mask, weights, tmp_path / "out", "--adapt", "-3", "--quiet")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --adapt must be 0") and err.count("\n") == 1
