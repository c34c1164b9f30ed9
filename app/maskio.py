"""Reading and writing index masks as palette PNGs (engine's `xmem_core.io.masks` when present)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from app.atomic import atomic_write_bytes
from app.palette import PALETTE_BYTES


class MaskFileError(ValueError):
    """A mask file could not be read or does not fit the clip."""


def encode_palette_png(mask: np.ndarray, compress_level: int = 1) -> bytes:
    """Encode an H×W uint8 index mask as DAVIS palette PNG bytes."""
    img = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="P")
    img.putpalette(PALETTE_BYTES)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def save_mask(path: str | os.PathLike[str], mask: np.ndarray) -> None:
    """Atomically write an index mask as a palette PNG."""
    atomic_write_bytes(path, encode_palette_png(mask))


def load_mask(path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a palette / grayscale-index / 0-255 binary PNG as an H×W uint8 index mask.

    A palette PNG keeps its indices; a grayscale image with only 0 and 255 becomes 0/1; an RGB image is
    mapped through the DAVIS palette (unknown colours raise). `size` (H, W) must match if given.
    """
    path = Path(path)
    try:
        from xmem_core.io.masks import read_mask  # type: ignore[import-not-found]
    except ImportError:
        read_mask = None
    if read_mask is not None:
        try:
            return np.asarray(read_mask(path, size=size), dtype=np.uint8)
        except Exception as exc:  # MaskError and friends: one readable message
            raise MaskFileError(str(exc)) from exc
    try:
        with Image.open(path) as img:
            if img.mode == "P":
                arr = np.asarray(img, dtype=np.uint8)
            elif img.mode in ("L", "I", "I;16", "1"):
                arr = np.asarray(img.convert("L"), dtype=np.uint8)
                vals = np.unique(arr)
                if set(vals.tolist()) <= {0, 255}:
                    arr = (arr > 0).astype(np.uint8)
            else:
                arr = _rgb_to_index(np.asarray(img.convert("RGB"), dtype=np.uint8), path)
    except (OSError, ValueError) as exc:
        raise MaskFileError(f"cannot read mask {path}: {exc}") from exc
    if size is not None and arr.shape[:2] != tuple(size):
        raise MaskFileError(
            f"mask {path.name} is {arr.shape[1]}×{arr.shape[0]} but the clip is {size[1]}×{size[0]}")
    return arr


def _rgb_to_index(rgb: np.ndarray, path: Path) -> np.ndarray:
    from app.palette import PALETTE

    code = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    pal_code = (PALETTE[:, 0].astype(np.int32) << 16) | (PALETTE[:, 1].astype(np.int32) << 8) | PALETTE[:, 2]
    lut = {int(c): i for i, c in reversed(list(enumerate(pal_code)))}
    uniq, inv = np.unique(code, return_inverse=True)
    idx = np.zeros(len(uniq), dtype=np.uint8)
    for k, c in enumerate(uniq):
        if int(c) not in lut:
            raise MaskFileError(f"mask {path.name} has colour #{int(c):06x}, which is not in the DAVIS palette")
        idx[k] = lut[int(c)]
    return idx[inv].reshape(rgb.shape[:2])
