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


def _folder_file() -> Path:
    return config_dir() / "last_folder.json"


def last_folder() -> str | None:
    """The folder the user last opened or chose a file in (None if unknown or gone)."""
    try:
        p = json.loads(_folder_file().read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return p if isinstance(p, str) and Path(p).is_dir() else None


def remember_folder(path: str | Path) -> None:
    """Remember the folder of `path` (a file) or `path` itself (a folder) for the next file dialog."""
    p = Path(path).resolve()
    folder = p if p.is_dir() else p.parent
    with contextlib.suppress(OSError):
        atomic_write_json(_folder_file(), str(folder))
