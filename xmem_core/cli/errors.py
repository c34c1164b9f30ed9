"""Errors the command line reports as one clear line (no traceback)."""

from __future__ import annotations

from xmem_core.inference.core import EngineError
from xmem_core.io.base import FrameSourceError
from xmem_core.io.masks import MaskError
from xmem_core.model.checkpoint import CheckpointError


class CliError(ValueError):
    """A bad command-line request."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    CliError,
    EngineError,
    FrameSourceError,
    MaskError,
    CheckpointError,
    FileNotFoundError,
    PermissionError,
)
