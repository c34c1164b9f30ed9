"""Builds and caches the engine objects (network, frame source, VideoSession) for one clip.

Called from the worker thread; torch is imported here, never in widgets.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from app.errors import NoWeightsError
from app.paths import default_weights
from app.settings import EngineSettings


def resolve_weights(settings: EngineSettings) -> Path:
    """The user's weights file, or the shipped default; raises NoWeightsError if neither exists."""
    if settings.weights:
        p = Path(settings.weights)
        if not p.is_file():
            raise NoWeightsError(f"The weights file {p} does not exist. Choose an XMem .pth file in the Memory panel.")
        return p
    p = default_weights()
    if p is None:
        raise NoWeightsError("No model weights found in resources/weights. Choose an XMem .pth file "
                             "(e.g. the released XMem.pth) in the Memory panel.")
    return p


class SessionFactory:
    """Keeps one VideoSession alive across runs (its memory persists) until a setting that shapes it changes."""

    def __init__(self, clip_path: str | Path) -> None:
        self.clip_path = Path(clip_path)
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._session: Any = None
        self._net: Any = None
        self._net_key: tuple[Any, ...] | None = None
        self._frames: Any = None
        self._reset_requested = False
        self.clip_weights: Any = None  # adapt_job.ClipWeights: clip-specific weights applied before each run
        self.base_key = ""  # identity of the base weights file (path and modification time)

    def needs_new_session(self, settings: EngineSettings) -> bool:
        return self._session is None or self._key != settings.engine_key()

    def request_reset(self) -> None:
        """Empty the session's memory before its next run (keyframes stay)."""
        self._reset_requested = True

    def invalidate(self) -> None:
        with self._lock:
            self._session = None
            self._key = None

    def session(self, settings: EngineSettings) -> Any:
        """Return the session for these settings, building what changed (runs in the worker thread)."""
        with self._lock:
            if self.needs_new_session(settings):
                self._session = self._build(settings)
                self._key = settings.engine_key()
                self._reset_requested = False
            elif self._reset_requested:
                self._session.reset_memory()
                self._reset_requested = False
            if self.clip_weights is not None:
                self.clip_weights.apply(self._session, self.base_key)
            return self._session

    def _build(self, settings: EngineSettings) -> Any:
        from xmem_core.inference.session import VideoSession
        from xmem_core.io.frames import open_frames
        from xmem_core.model.checkpoint import load_model

        weights = resolve_weights(settings)
        net_key = (str(weights.resolve()), weights.stat().st_mtime, settings.device)
        if self._net is None or self._net_key != net_key:
            self._net = load_model(weights, device=settings.device)
            self._net_key = net_key
        self.base_key = f"{net_key[0]}@{net_key[1]}"
        if self._frames is None:
            self._frames = open_frames(self.clip_path)
        return VideoSession(self._net, self._frames, settings.memory_config(), size=int(settings.size),
                            device=settings.device)

    def close(self) -> None:
        with self._lock:
            self._session = None
            if self._frames is not None and hasattr(self._frames, "close"):
                self._frames.close()
            self._frames = None
