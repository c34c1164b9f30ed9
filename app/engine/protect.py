"""Which objects a propagation run may write, and how its masks merge with what is there (Qt-free).

A run writes every unlocked object, or only the selected one ("propagate selected object only"). Pixels of the
objects it does not write keep their previous value on every frame; the written objects' pixels come from the run.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from app.engine.plan import Mode, Pass, PlanError, make_plan
from app.model.annotation import AnnotationModel


def written_ids(all_ids: Iterable[int], locked: Iterable[int], selected: int | None,
                selected_only: bool) -> set[int]:
    """Object ids a run writes: unlocked ones, or just the selected one when `selected_only`."""
    ids = set(all_ids) - set(locked)
    if selected_only:
        ids &= {selected} if selected is not None else set()
    return ids


def merge_run_mask(old: np.ndarray | None, new: np.ndarray, write: Iterable[int]) -> np.ndarray:
    """H×W uint8 mask: `old` where it holds an object the run does not write, else `new` restricted to the
    written objects (other labels in `new` become background)."""
    w = np.zeros(256, bool)
    w[[int(i) for i in write]] = True
    w[0] = False
    out = np.where(w[new], new, 0).astype(np.uint8)
    if old is not None:
        keep = (old > 0) & ~w[old]
        out[keep] = old[keep]
    return out


def pass_frames(p: Pass, n_frames: int, keyframes: set[int]) -> list[int]:
    """Frames a pass visits after its start frame."""
    length = p.length(n_frames, keyframes)
    return [p.start + p.direction * i for i in range(1, length)]


def overwritten_frames(plan: list[Pass], n_frames: int, keyframes: set[int], propagated: set[int]) -> list[int]:
    """Already propagated (non-key) frames the run will replace, sorted."""
    seen: set[int] = set()
    for p in plan:
        seen.update(f for f in pass_frames(p, n_frames, keyframes) if f in propagated and f not in keyframes)
    return sorted(seen)


def overwrite_warning(model: AnnotationModel, mode: Mode | str, selected_only: bool) -> str | None:
    """The warning to show before a run that replaces already propagated masks of objects other than the
    selected one (with the frame count), or None when it would not."""
    try:
        plan = make_plan(Mode(mode), model.current, model.n_frames, set(model.masks.frames()), set(model.keyframes),
                         model.in_point, model.out_point)
    except PlanError:
        return None  # the controller reports it
    objs = model.objects
    others = sorted(written_ids(objs.ids(), objs.locked_ids(), objs.selected, selected_only) - {objs.selected})
    if not others:
        return None
    frames = overwritten_frames(plan, model.n_frames, set(model.keyframes), set(model.propagated_frames()))
    if not frames:
        return None
    names = ", ".join(objs.get(i).name for i in others)
    span = f"frame {frames[0]}" if len(frames) == 1 else f"frames {frames[0]}–{frames[-1]}"
    return (f"This run replaces the already propagated masks of {names} on {len(frames)} "
            f"frame{'s' if len(frames) != 1 else ''} ({span}).\n\nTo keep them, lock those objects in the "
            "Objects panel or tick Propagate ▸ Selected object only. Undo (Ctrl+Z) restores the whole run.")
