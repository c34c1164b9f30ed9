"""Recent clips list, stored as JSON in the user config folder."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from app.atomic import atomic_write_json
from app.paths import config_dir

MAX_RECENT = 10


def _file() -> Path:
    return config_dir() / "recent.json"


def load_recent() -> list[str]:
    """Most recent first; entries whose path no longer exists are dropped."""
    try:
        items = json.loads(_file().read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return [p for p in items if isinstance(p, str) and Path(p).exists()][:MAX_RECENT]


def add_recent(path: str | Path) -> list[str]:
    """Put `path` at the top of the list and save it; returns the new list."""
    p = str(Path(path).resolve())
    items = [p] + [q for q in load_recent() if q != p]
    items = items[:MAX_RECENT]
    with contextlib.suppress(OSError):
        atomic_write_json(_file(), items)
    return items
