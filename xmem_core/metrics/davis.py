"""DAVIS region similarity J, boundary F-measure and folder-level evaluation.

``region_similarity`` and ``boundary_f_measure`` reproduce ``db_eval_iou`` and ``db_eval_boundary`` / ``f_measure``
of the official davis2017-evaluation code (no void pixels): boundaries via ``seg2bmap``, dilation with a
``skimage.morphology.disk`` of radius ``ceil(0.008 × image diagonal)``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from skimage.morphology import disk

from xmem_core.io.base import natural_key
from xmem_core.io.masks import MaskError, read_mask

__all__ = [
    "EvaluationError", "ClipScore", "EvalResult", "region_similarity", "boundary_f_measure", "seg2bmap",
    "object_scores", "evaluate_clip", "evaluate_folders", "BOUND_TH",
]

BOUND_TH = 0.008


class EvaluationError(ValueError):
    """Prediction and ground truth folders do not line up (missing clips, frame counts, sizes)."""


def region_similarity(pred: np.ndarray, gt: np.ndarray) -> float:
    """J: intersection over union of two binary masks; 1.0 when both are empty."""
    pred, gt = pred.astype(bool), gt.astype(bool)
    union = np.count_nonzero(pred | gt)
    if union == 0:
        return 1.0
    return np.count_nonzero(pred & gt) / union


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary map of a binary mask (DAVIS ``_seg2bmap`` at the mask's own size)."""
    seg = seg.astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def boundary_f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = BOUND_TH) -> float:
    """F: boundary F-measure of two binary masks with tolerance ``ceil(bound_th × diagonal)`` pixels (or
    ``bound_th`` pixels if it is >= 1). Both boundaries empty → 1; exactly one empty → 0."""
    bound_pix = bound_th if bound_th >= 1 else math.ceil(bound_th * float(np.linalg.norm(gt.shape[:2])))
    fg_boundary = seg2bmap(pred)
    gt_boundary = seg2bmap(gt)
    n_fg = int(np.count_nonzero(fg_boundary))
    n_gt = int(np.count_nonzero(gt_boundary))
    if n_fg == 0 or n_gt == 0:
        return 1.0 if n_fg == n_gt else 0.0
    kernel = disk(bound_pix).astype(np.uint8)
    fg_dil = cv2.dilate(fg_boundary.astype(np.uint8), kernel).astype(bool)
    gt_dil = cv2.dilate(gt_boundary.astype(np.uint8), kernel).astype(bool)
    precision = np.count_nonzero(fg_boundary & gt_dil) / n_fg
    recall = np.count_nonzero(gt_boundary & fg_dil) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def object_scores(pred: np.ndarray, gt: np.ndarray, obj_id: int) -> tuple[float, float]:
    """(J, F) of one object id between two index masks."""
    p, g = pred == obj_id, gt == obj_id
    return region_similarity(p, g), boundary_f_measure(p, g)


@dataclass
class ClipScore:
    """Scores of one clip: J and F averaged over frames per object, then over objects; ``JF`` = J&F = (J + F) / 2.
    Values are fractions in [0, 1]."""

    clip: str
    J: float  # noqa: N815
    F: float  # noqa: N815
    frames: int                      # frames scored (all but the first)
    objects: list[int] = field(default_factory=list)

    @property
    def JF(self) -> float:  # noqa: N802
        """J&F = (J + F) / 2."""
        return (self.J + self.F) / 2


@dataclass
class EvalResult:
    """Per-clip scores plus their means (mean over clips, each clip weighted equally)."""

    clips: list[ClipScore]

    @property
    def J(self) -> float:  # noqa: N802
        """Mean J over clips."""
        return float(np.mean([c.J for c in self.clips])) if self.clips else float("nan")

    @property
    def F(self) -> float:  # noqa: N802
        """Mean F over clips."""
        return float(np.mean([c.F for c in self.clips])) if self.clips else float("nan")

    @property
    def JF(self) -> float:  # noqa: N802
        """Mean J&F over clips (= (mean J + mean F) / 2)."""
        return (self.J + self.F) / 2


def evaluate_clip(pred_dir: str | os.PathLike, gt_dir: str | os.PathLike, skip_first: bool = True,
                  skip_last: bool = False) -> ClipScore:
    """Score one clip folder of predicted PNG masks against one GT folder (frames paired by file stem).

    Objects are the ids present in any GT frame of the clip. Frames scored: all but the first (``skip_first``);
    ``skip_last=True`` also drops the last frame, as the official davis2017-evaluation does for DAVIS 2017.
    """
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    stems = _paired_stems(pred_dir, gt_dir)
    gts = [read_mask(gt_dir / f"{s}.png") for s in stems]
    objects = sorted(int(i) for i in np.unique(np.concatenate([np.unique(g) for g in gts])) if i != 0)
    lo, hi = (1 if skip_first else 0), (len(stems) - 1 if skip_last else len(stems))
    j_sum = np.zeros(len(objects))
    f_sum = np.zeros(len(objects))
    for stem, gt in zip(stems[lo:hi], gts[lo:hi], strict=True):
        pred = _read_pred(pred_dir / f"{stem}.png", gt.shape, gt_dir.name)
        for k, obj in enumerate(objects):
            j, f = object_scores(pred, gt, obj)
            j_sum[k] += j
            f_sum[k] += f
    n = max(hi - lo, 0)
    if n == 0 or not objects:
        raise EvaluationError(f"clip {gt_dir.name}: nothing to score ({n} frames after the first, "
                              f"{len(objects)} objects in the ground truth)")
    return ClipScore(gt_dir.name, float(np.mean(j_sum / n)), float(np.mean(f_sum / n)), n, objects)


def evaluate_folders(pred_root: str | os.PathLike, gt_root: str | os.PathLike, skip_first: bool = True,
                     skip_last: bool = False) -> EvalResult:
    """Evaluate every GT clip folder under ``gt_root`` against the same-named folder under ``pred_root``.

    Either root may be a folder of clip folders or a dataset root holding ``Annotations/``; ``gt_root`` may also
    be a single clip folder of PNGs (then ``pred_root`` must be a single clip folder too). Per-clip J and F are
    means over objects of per-object means over frames (all but the first); the result's ``J``, ``F`` and ``JF``
    are the MEAN OVER CLIPS of the per-clip values (the official DAVIS script averages over objects instead;
    identical for single-object sets such as DAVIS 2016). Raises EvaluationError naming missing PRED clips,
    frame count or frame name mismatches, and size mismatches.
    """
    pred_root, gt_root = Path(pred_root), Path(gt_root)
    for root, what in ((gt_root, "ground truth"), (pred_root, "prediction")):
        if not root.is_dir():
            raise EvaluationError(f"{what} folder not found: {root}")
    if (gt_root / "Annotations").is_dir() and not _pngs(gt_root):
        gt_root = gt_root / "Annotations"
    if _pngs(gt_root):
        return EvalResult([evaluate_clip(pred_root, gt_root, skip_first, skip_last)])
    clips = sorted((d.name for d in gt_root.iterdir() if d.is_dir() and _pngs(d)), key=natural_key)
    if not clips:
        raise EvaluationError(f"no clip folders with PNG masks in {gt_root}")
    if (pred_root / "Annotations").is_dir() and not any((pred_root / c).is_dir() for c in clips):
        pred_root = pred_root / "Annotations"
    missing = [c for c in clips if not (pred_root / c).is_dir()]
    if missing:
        raise EvaluationError(f"prediction folder {pred_root} lacks {len(missing)} clip(s): {', '.join(missing)}")
    return EvalResult([evaluate_clip(pred_root / c, gt_root / c, skip_first, skip_last) for c in clips])


def _pngs(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png" and not p.name.startswith(".")]


def _paired_stems(pred_dir: Path, gt_dir: Path) -> list[str]:
    """GT stems in natural order, after checking PRED has exactly the same frames."""
    gt = sorted((p.stem for p in _pngs(gt_dir)), key=natural_key)
    pred = {p.stem for p in _pngs(pred_dir)} if pred_dir.is_dir() else set()
    clip = gt_dir.name
    if len(pred) != len(gt):
        raise EvaluationError(f"clip {clip}: {len(pred)} predicted masks but {len(gt)} ground-truth masks")
    absent = [s for s in gt if s not in pred]
    if absent:
        raise EvaluationError(f"clip {clip}: no predicted mask for frame {absent[0]}.png "
                              f"({len(absent)} frame name(s) differ from the ground truth)")
    return gt


def _read_pred(path: Path, size: tuple[int, int], clip: str) -> np.ndarray:
    """Read a predicted mask of the GT size, turning size errors into EvaluationError with the clip name."""
    try:
        return read_mask(path, size=size)
    except MaskError as exc:
        raise EvaluationError(f"clip {clip}: {exc}") from exc
