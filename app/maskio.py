"""Reading and writing index masks as palette PNGs for the app (the engine's `xmem_core.io.masks`)."""

from __future__ import annotations

import os

import numpy as np

from app.atomic import atomic_write_bytes
from xmem_core.io.masks import encode_mask_png, read_mask


class MaskFileError(ValueError):
    """A mask file could not be read or does not fit the clip."""


def encode_palette_png(mask: np.ndarray, compress_level: int = 1) -> bytes:
    """Encode an H×W uint8 index mask as DAVIS palette PNG bytes (fast zlib level: the app writes often)."""
    return encode_mask_png(mask, compress_level=compress_level)


def save_mask(path: str | os.PathLike[str], mask: np.ndarray) -> None:
    """Atomically write an index mask as a palette PNG."""
    atomic_write_bytes(path, encode_palette_png(mask))


def load_mask(path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a palette / grayscale-index / 0-255 / RGB PNG as an H×W uint8 index mask (`size` (H, W) must match).

    Any failure becomes a MaskFileError with one readable message.
    """
    try:
        return np.asarray(read_mask(path, size=size), dtype=np.uint8)
    except Exception as exc:  # MaskError, OSError and friends
        raise MaskFileError(str(exc)) from exc
