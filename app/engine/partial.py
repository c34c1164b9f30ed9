"""Per-object replacement of propagated masks (Qt-free).

A run replaces only the objects it was given a mask for: those on its start frame, and those on keyframes it has
fed to the engine so far. Every other object keeps the pixels it already had on each frame, so re-propagating from a
keyframe where only some objects are painted never erases the others."""

from __future__ import annotations

import numpy as np


def mask_ids(mask: np.ndarray | None) -> set[int]:
    """Object ids present in an H×W index mask (background 0 excluded)."""
    if mask is None:
        return set()
    return {int(i) for i in np.unique(mask) if i}


def merge_run_mask(old: np.ndarray | None, new: np.ndarray, run_ids: set[int]) -> np.ndarray:
    """H×W uint8: `new` for the objects in `run_ids`, `old` for every other object.

    Pixels of objects outside the run are kept even where the run predicts one of its objects (their masks are the
    user's or an earlier run's, and the run knew nothing about them); objects of `new` outside `run_ids` are dropped."""
    ids = np.zeros(256, dtype=bool)
    ids[list(run_ids)] = True
    ids[0] = False
    out = np.where(ids[new], new, 0).astype(np.uint8)
    if old is not None:
        keep = (old > 0) & ~ids[old]
        out[keep] = old[keep]
    return out
