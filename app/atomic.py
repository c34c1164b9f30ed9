"""Atomic file writes for the app: the engine's implementation (`xmem_core.io.atomic`), creating parent folders."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from xmem_core.io import atomic as _engine


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` so that readers see either the old or the new file, never a torn one."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _engine.atomic_write_bytes(path, data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """UTF-8 text version of `atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Serialise `obj` as indented JSON and write it atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
