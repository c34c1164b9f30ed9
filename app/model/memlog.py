"""Per-frame memory statistics (from the engine's MemoryStats) kept for the timeline and saved with the project."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np

from app.observer import Event

FIELDS = ("working_frames", "working_elements", "long_term_elements", "working_capacity",
          "long_term_capacity", "sensory_objects")


def stats_to_dict(stats: Any) -> dict[str, Any]:
    """MemoryStats (dataclass, dict or object with the contract's attributes) → plain JSON-able dict."""
    if isinstance(stats, dict):
        d = dict(stats)
    elif dataclasses.is_dataclass(stats):
        d = dataclasses.asdict(stats)
    else:
        d = {k: getattr(stats, k) for k in ("frame", *FIELDS, "events") if hasattr(stats, k)}
    events = []
    for e in d.get("events") or []:
        if isinstance(e, dict):
            events.append({"kind": str(e.get("kind", "")), "detail": dict(e.get("detail") or {})})
        else:
            events.append({"kind": str(getattr(e, "kind", "")), "detail": dict(getattr(e, "detail", {}) or {})})
    d["events"] = events
    return d


class MemoryLog:
    """frame → stats dict. The latest run wins for a frame. `changed` fires after updates (possibly batched)."""

    def __init__(self) -> None:
        self._by_frame: dict[int, dict[str, Any]] = {}
        self.changed = Event()
        self.lt_max: int | None = None

    def record(self, stats: Any, frame: int | None = None) -> None:
        d = stats_to_dict(stats)
        f = int(frame if frame is not None else d.get("frame", -1))
        d["frame"] = f
        self._by_frame[f] = d
        if d.get("long_term_capacity"):
            self.lt_max = int(d["long_term_capacity"])
        self.changed.emit()

    def add_reset(self, frame: int) -> None:
        """Note a user memory reset at `frame` (drawn as a marker)."""
        self.add_event(frame, "reset", {"by": "user"})

    def add_event(self, frame: int, kind: str, detail: dict[str, Any]) -> None:
        """Note an event the user caused at `frame` (e.g. "adapt": the model learned from the keyframes)."""
        d = self._by_frame.setdefault(frame, {"frame": frame, "events": []})
        d.setdefault("events", []).append({"kind": kind, "detail": dict(detail)})
        self.changed.emit()

    def put(self, entries: dict[int, dict[str, Any] | None]) -> None:
        """Set (or with None remove) the entries of several frames at once (undo / redo of a run)."""
        for f, d in entries.items():
            if d is None:
                self._by_frame.pop(f, None)
            else:
                self._by_frame[f] = copy.deepcopy(d)
        self.changed.emit()

    def get(self, frame: int) -> dict[str, Any] | None:
        return self._by_frame.get(frame)

    def frames(self) -> list[int]:
        return sorted(self._by_frame)

    def __len__(self) -> int:
        return len(self._by_frame)

    def clear(self) -> None:
        self._by_frame.clear()
        self.changed.emit()

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(frames, values) of one numeric field, sorted by frame, skipping frames without it."""
        fs = [f for f in self.frames() if key in self._by_frame[f]]
        return np.asarray(fs, dtype=float), np.asarray([float(self._by_frame[f][key]) for f in fs], dtype=float)

    def events(self) -> list[tuple[int, str, dict[str, Any]]]:
        """All (frame, kind, detail) events in frame order."""
        out = []
        for f in self.frames():
            for e in self._by_frame[f].get("events", []):
                out.append((f, e["kind"], e.get("detail", {})))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"lt_max": self.lt_max, "frames": [self._by_frame[f] for f in self.frames()]}

    def load_json(self, obj: dict[str, Any]) -> None:
        self._by_frame = {int(d["frame"]): d for d in obj.get("frames", []) if "frame" in d}
        self.lt_max = obj.get("lt_max")
        self.changed.emit()
