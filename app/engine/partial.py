"""Per-object replacement of propagated masks (Qt-free).

A run replaces only the objects it was given a mask for: those on its start frame, and those on keyframes it has
fed to the engine so far. Every other object keeps the pixels it already had on each frame (merged with
`app.engine.protect.merge_run_mask`, which also keeps locked objects), so re-propagating from a keyframe where only
some objects are painted never erases the others."""

from __future__ import annotations

import numpy as np


def mask_ids(mask: np.ndarray | None) -> set[int]:
    """Object ids present in an H×W index mask (background 0 excluded)."""
    if mask is None:
        return set()
    return {int(i) for i in np.unique(mask) if i}
