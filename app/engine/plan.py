"""What a propagation request means in frames (Qt-free, unit-testable)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    RANGE = "range"
    NEXT_KEYFRAME = "next_keyframe"


@dataclass
class Pass:
    """One call of VideoSession.propagate."""

    start: int
    direction: int
    stop: int | None
    stop_at_keyframe: bool

    def length(self, n_frames: int, keyframes: set[int]) -> int:
        """Frames this pass will visit (start included)."""
        last = (n_frames - 1 if self.direction > 0 else 0) if self.stop is None else self.stop
        if self.stop_at_keyframe:
            ahead = [k for k in keyframes if (k - self.start) * self.direction > 0
                     and (last - k) * self.direction >= 0]
            if ahead:
                last = min(ahead, key=lambda k: abs(k - self.start)) - self.direction
        return max(1, (last - self.start) * self.direction + 1)


class PlanError(ValueError):
    """The request cannot run (no mask to start from, empty range...)."""


def start_frame(current: int, direction: int, has_mask: set[int] | list[int], keyframes: set[int]) -> int:
    """Start from the current frame if it has a mask, else from the nearest keyframe behind it."""
    if current in has_mask:
        return current
    behind = [k for k in keyframes if (current - k) * direction >= 0]
    if not behind:
        word = "before" if direction > 0 else "after"
        raise PlanError(f"Nothing to propagate from: paint a mask on this frame or on a frame {word} it first.")
    return max(behind) if direction > 0 else min(behind)


def make_plan(mode: Mode, current: int, n_frames: int, masked: set[int], keyframes: set[int],
              in_point: int | None = None, out_point: int | None = None) -> list[Pass]:
    """Passes for a request. Keyframes met on the way are fed as corrections (never overwritten)."""
    mode = Mode(mode)
    last = n_frames - 1
    if mode == Mode.FORWARD:
        s = start_frame(current, 1, masked, keyframes)
        return [Pass(s, 1, None, False)] if s < last else []
    if mode == Mode.BACKWARD:
        s = start_frame(current, -1, masked, keyframes)
        return [Pass(s, -1, None, False)] if s > 0 else []
    if mode == Mode.NEXT_KEYFRAME:
        s = start_frame(current, 1, masked, keyframes)
        return [Pass(s, 1, None, True)] if s < last else []
    lo = 0 if in_point is None else in_point
    hi = last if out_point is None else out_point
    if lo > hi:
        lo, hi = hi, lo
    inside = {k for k in masked if lo <= k <= hi}
    cur = min(max(current, lo), hi)
    if cur in inside:
        s = cur
    else:
        kin = sorted(k for k in keyframes if lo <= k <= hi)
        if not kin:
            raise PlanError("No keyframe inside the in/out range: paint a frame between the in and out points.")
        s = kin[0]
    passes = []
    if s < hi:
        passes.append(Pass(s, 1, hi, False))
    if s > lo:
        passes.append(Pass(s, -1, lo, False))
    return passes
