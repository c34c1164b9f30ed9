"""A tiny Qt-free observer: models announce changes through `Event`s that widgets subscribe to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """A list of callbacks called in connection order by `emit`.

    Deliberately minimal (no threads, no weak references): models live in the GUI thread and are
    disconnected explicitly when a window closes.
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []
        self._blocked = 0

    def connect(self, callback: Callable[..., Any]) -> None:
        """Call `callback(*args)` on each `emit(*args)`."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any] | None = None) -> None:
        """Remove one callback, or all of them when `callback` is None."""
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        """Notify every connected callback unless the event is blocked."""
        if self._blocked:
            return
        for cb in list(self._callbacks):
            cb(*args)

    def block(self) -> "_Blocker":
        """Context manager that suppresses emissions (used for bulk updates)."""
        return _Blocker(self)

    def __len__(self) -> int:
        return len(self._callbacks)


class _Blocker:
    def __init__(self, event: Event) -> None:
        self._event = event

    def __enter__(self) -> None:
        self._event._blocked += 1

    def __exit__(self, *exc: object) -> None:
        self._event._blocked -= 1
