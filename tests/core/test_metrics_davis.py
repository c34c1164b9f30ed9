"""DAVIS J and F against hand-computed cases; folder evaluation and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmem_core.io.masks import write_mask
from xmem_core.metrics.davis import (
    EvaluationError,
    boundary_f_measure,
    evaluate_clip,
    evaluate_folders,
    region_similarity,
    seg2bmap,
)

DAVIS16_DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "davis16-dev" / "Annotations"


def square(top: int, left: int, side: int = 10, shape: tuple[int, int] = (100, 100)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[top:top + side, left:left + side] = True
    return m


def test_j_hand_computed() -> None:
    gt = square(10, 10)
    assert region_similarity(square(10, 12), gt) == pytest.approx(80 / 120)  # 8×10 overlap, 100+100-80 union
    assert region_similarity(square(12, 12), gt) == pytest.approx(64 / 136)
    assert region_similarity(gt, gt) == 1.0
    assert region_similarity(np.zeros_like(gt), np.zeros_like(gt)) == 1.0
    assert region_similarity(np.zeros_like(gt), gt) == 0.0


def test_seg2bmap_square() -> None:
    # DAVIS seg2bmap marks pixels that differ from their right / lower / lower-right neighbour: for a square at
    # rows/cols 2..5 that is the one-pixel ring of the box 1..5 (outside at top-left, inside at bottom-right).
    b = seg2bmap(square(2, 2, side=4, shape=(10, 10)))
    ring = np.zeros((10, 10), bool)
    ring[1:6, 1:6] = True
    ring[2:5, 2:5] = False
    np.testing.assert_array_equal(b, ring)
    assert b.sum() == 16


def test_f_hand_computed() -> None:
    gt = square(40, 40, side=20)
    assert boundary_f_measure(gt, gt) == 1.0
    assert boundary_f_measure(square(0, 0, side=10), square(80, 80, side=10)) == 0.0
    # 100×100: tolerance ceil(0.008 × 141.4) = 2 px, so a 1- or 2-pixel shift is fully matched
    assert boundary_f_measure(square(40, 41, side=20), gt) == 1.0
    assert boundary_f_measure(square(42, 40, side=20), gt) == 1.0
    assert boundary_f_measure(square(45, 45, side=20), gt) < 1.0
    empty = np.zeros_like(gt)
    assert boundary_f_measure(empty, empty) == 1.0
    assert boundary_f_measure(empty, gt) == 0.0 and boundary_f_measure(gt, empty) == 0.0


def test_f_shift_beyond_tolerance_hand_computed() -> None:
    # 10×10 squares 3 px apart horizontally in 100×100 (tolerance ceil(1.13) = 2 px, disk of radius 2).
    # Each boundary is the 40-pixel ring of an 11×11 box (rows 9..19; GT cols 9..19, PRED cols 12..22).
    # GT ring pixels within the disk of the PRED ring: top and bottom rows at cols 10..19 (10 + 10), plus
    # the right column's rows 10, 11, 17, 18 (1-2 px from PRED's top/bottom rows) → 24 of 40 = 0.6 recall;
    # by symmetry precision = 0.6, so F = 0.6. Vertical edges 3 px apart never match.
    assert boundary_f_measure(square(10, 13), square(10, 10)) == pytest.approx(0.6)


def _clip(root: Path, name: str, masks: list[np.ndarray]) -> None:
    for i, m in enumerate(masks):
        write_mask(root / name / f"{i:05d}.png", m.astype(np.uint8))


def _two_object(shift: int) -> np.ndarray:
    m = np.zeros((100, 100), np.uint8)
    m[10:20, 10 + shift:20 + shift] = 1
    m[50:70, 50:70] = 2
    return m


def test_evaluate_folders_multi_object_and_first_frame_skipped(tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    _clip(gt, "a", [_two_object(0)] * 3)
    _clip(pred, "a", [np.zeros((100, 100))] + [_two_object(3)] * 2)  # wrong first frame is ignored
    _clip(gt, "b", [square(40, 40, 20)] * 2)
    _clip(pred, "b", [square(40, 40, 20)] * 2)
    res = evaluate_folders(pred, gt)
    a, b = res.clips
    assert (a.clip, a.frames, a.objects) == ("a", 2, [1, 2])
    assert pytest.approx((70 / 130 + 1) / 2) == a.J  # object 1 shifted 3 px (J = 70/130, F = 0.6), object 2 exact
    assert pytest.approx((0.6 + 1) / 2) == a.F
    assert b.J == b.F == b.JF == 1.0
    assert pytest.approx((a.J + 1) / 2) == res.J
    assert pytest.approx((a.JF + 1) / 2) == res.JF


def test_evaluate_errors(tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    _clip(gt, "a", [square(1, 1)] * 3)
    _clip(gt, "b", [square(1, 1)] * 3)
    _clip(pred, "a", [square(1, 1)] * 2)
    with pytest.raises(EvaluationError, match="lacks 1 clip.*: b"):
        evaluate_folders(pred, gt)
    _clip(pred, "b", [square(1, 1)] * 3)
    with pytest.raises(EvaluationError, match="clip a: 2 predicted masks but 3"):
        evaluate_folders(pred, gt)
    _clip(pred, "a", [square(1, 1, shape=(50, 60))] * 3)
    with pytest.raises(EvaluationError, match="clip a: .*50x60.*100x100"):
        evaluate_folders(pred, gt)
    with pytest.raises(EvaluationError, match="not found"):
        evaluate_folders(tmp_path / "nope", gt)


@pytest.mark.data
@pytest.mark.skipif(not DAVIS16_DEV.is_dir(), reason="davis16-dev data not available")
def test_real_clip_against_itself() -> None:
    clip = min(DAVIS16_DEV.iterdir(), key=lambda d: len(list(d.glob("*.png"))))
    score = evaluate_clip(clip, clip)
    assert score.J == 1.0 and score.F == 1.0 and score.objects == [1]
