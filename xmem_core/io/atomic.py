"""Atomic file writes: write a temp file in the target folder, fsync it, then ``os.replace``."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "atomic_save", "stale_temp_files",
           "sweep_stale_temps"]


def _fsync_dir(folder: Path) -> None:
    """Best-effort fsync of a directory so the rename itself is durable (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _target_mode(target: Path) -> int:
    """Permission bits for the new file: keep an existing file's bits, else 0o644 (mkstemp would give 0o600)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o644


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temp file next to ``path`` for writing; on clean exit it atomically replaces ``path``.

    On an exception the temp file is removed and ``path`` is left untouched.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open supports modes 'wb' and 'w', not {mode!r}")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, _target_mode(target))
        kwargs = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path`` (no newline translation)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save(path: str | os.PathLike, writer: Callable[[IO[bytes]], object]) -> None:
    """Atomically create ``path`` by calling ``writer(binary_file_object)``.

    Examples: ``atomic_save(p, lambda f: image.save(f, format="PNG"))``,
    ``atomic_save(p, lambda f: torch.save(state_dict, f))``.
    """
    with atomic_open(path, "wb") as fh:
        writer(fh)


#: the temp names `atomic_open` creates: ".<target name>.<8 random characters>.tmp"
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")


def stale_temp_files(folder: str | os.PathLike, targets: Callable[[str], bool]) -> list[Path]:
    """Temp files `atomic_open` left in `folder` (a kill mid-write) whose target name passes `targets`."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return []
    found = []
    for p in entries:
        m = _TEMP_NAME.match(p.name)
        if m and targets(m.group("target")) and p.is_file():
            found.append(p)
    return sorted(found)


def sweep_stale_temps(folder: str | os.PathLike, targets: Callable[[str], bool]) -> int:
    """Delete our own leftover temp files (only names of our pattern for matching targets); returns the count."""
    removed = 0
    for p in stale_temp_files(folder, targets):
        with contextlib.suppress(OSError):
            p.unlink()
            removed += 1
    return removed
