"""`main.py propagate` end to end on tiny clips, and its one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main
from tests.core.tiny import moving_square_clip, tiny_weights, write_frame_folder, write_video
from xmem_core.io.masks import write_mask


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return tiny_weights(tmp_path_factory.mktemp("w") / "tiny.pth")


@pytest.fixture()
def clip(tmp_path) -> tuple[Path, Path]:
    frames, masks = moving_square_clip(8)
    folder = write_frame_folder(tmp_path / "frames", frames)
    mask = tmp_path / "mask.png"
    write_mask(mask, masks[0] * 2)
    return folder, mask


def _run(*args: str) -> int:
    return main.main([str(a) for a in args])


def test_propagate_frame_folder(clip, weights, tmp_path) -> None:
    folder, mask = clip
    out = tmp_path / "out"
    assert _run("propagate", folder, "--mask", mask, "--out", out, "--model", weights, "--size", "32", "--quiet") == 0
    files = sorted(p.name for p in out.glob("*.png"))
    assert files == [f"frame_{i:03d}.png" for i in range(8)]
    first = Image.open(out / files[0])
    assert first.mode == "P" and first.size == (64, 48)
    assert np.array_equal(np.array(first), np.array(Image.open(mask)))  # the annotation is written verbatim
    assert set(np.unique(np.array(Image.open(out / files[-1])))) <= {0, 2}


def test_propagate_video_from_a_middle_frame(tmp_path, weights) -> None:
    frames, masks = moving_square_clip(6)
    video = write_video(tmp_path / "clip.mp4", frames)
    mask = tmp_path / "m.png"
    write_mask(mask, masks[3])
    out = tmp_path / "out"
    code = _run("propagate", video, "--mask", mask, "--mask-frame", 3, "--out", out, "--model", weights,
                "--size", "32", "--quiet", "--device", "cpu")
    assert code == 0
    assert sorted(p.stem for p in out.glob("*.png")) == [f"{i:05d}" for i in range(6)]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_input", "input not found"),
        ("missing_mask", "mask not found"),
        ("size_mismatch", "mask"),
        ("empty_mask", "empty"),
        ("bad_device", "device"),
        ("bad_frame", "outside the clip"),
        ("bad_model", "weights not found"),
        ("bad_memory", "T_min"),
    ],
)
def test_propagate_errors_are_one_line(case, message, clip, weights, tmp_path, capsys) -> None:
    folder, mask = clip
    args = ["propagate", folder, "--mask", mask, "--out", tmp_path / "o", "--model", weights, "--quiet"]
    if case == "missing_input":
        args[1] = tmp_path / "nope"
    elif case == "missing_mask":
        args[3] = tmp_path / "nope.png"
    elif case == "size_mismatch":
        write_mask(tmp_path / "small.png", np.ones((10, 10), np.uint8))
        args[3] = tmp_path / "small.png"
    elif case == "empty_mask":
        write_mask(tmp_path / "empty.png", np.zeros((48, 64), np.uint8))
        args[3] = tmp_path / "empty.png"
    elif case == "bad_device":
        args += ["--device", "tpu"]
    elif case == "bad_frame":
        args += ["--mask-frame", "50"]
    elif case == "bad_model":
        args[7] = tmp_path / "missing.pth"
    elif case == "bad_memory":
        args += ["--t-min", "10", "--t-max", "5"]
    assert _run(*args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err


def test_unreadable_video_is_one_line(tmp_path, weights, capsys) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    write_mask(tmp_path / "m.png", np.ones((4, 4), np.uint8))
    assert _run("propagate", bad, "--mask", tmp_path / "m.png", "--out", tmp_path / "o", "--model", weights) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


def test_corrupt_weights_is_one_line(clip, tmp_path, capsys) -> None:
    folder, mask = clip
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    assert _run("propagate", folder, "--mask", mask, "--out", tmp_path / "o", "--model", bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
