"""Observable memory log: per-frame occupancy of the three stores and the events that changed them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EVENT_KINDS = ("insert", "deep_update", "consolidate", "evict", "reset", "add_objects", "remove_objects", "adapt")


@dataclass
class MemoryEvent:
    """Something that happened to memory while processing one frame."""

    kind: str  # one of EVENT_KINDS
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. {"candidates": 8100, "prototypes": 128}


@dataclass
class MemoryStats:
    """Occupancy of sensory, working and long-term memory after one frame (what the timeline draws)."""

    frame: int  # source frame index this entry belongs to
    sensory_objects: int  # objects holding a sensory state
    working_frames: int  # frames in working memory
    working_elements: int  # elements (frames × HW_16) in working memory
    long_term_elements: int  # prototypes in long-term memory
    working_capacity: int  # T_max × HW_16 (0 before the first insertion)
    long_term_capacity: int  # LT_max
    events: list[MemoryEvent] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def has_event(self, kind: str) -> bool:
        return any(e.kind == kind for e in self.events)
