"""Index masks on disk: read palette / grayscale / RGB masks as H×W uint8 object ids; write DAVIS palette PNGs.

Reading rules (``read_mask``):

* palette ("P") PNG: the pixel indices are the object ids, whatever the palette colours.
* grayscale ("L", "I;16", "1"): values {0} or {0, v} with v > 32 are a binary mask (object 1); up to
  ``MAX_OBJECTS`` distinct values with max <= 254 are an index image (values are ids, so {0, 2} stays id 2);
  anything else (anti-aliased / soft edges) is thresholded at 50% into object 1.
* RGB / RGBA: grey images follow the grayscale rules; up to ``MAX_OBJECTS`` distinct colours map to ids (black is
  background, DAVIS palette colours keep their palette index, other colours take the next free ids in colour
  order); more colours are thresholded at 50% luminance into object 1. An RGBA image whose colour is constant
  but whose alpha varies is read through its alpha channel.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from xmem_core.io.atomic import atomic_write_bytes

__all__ = ["DAVIS_PALETTE", "MaskError", "read_mask", "write_mask", "encode_mask_png", "davis_palette", "MAX_OBJECTS"]

#: more distinct grey levels / colours than this means "anti-aliased": threshold into one object
MAX_OBJECTS = 32


class MaskError(ValueError):
    """A mask file is missing, unreadable, of the wrong size, or a mask array is invalid."""


def davis_palette(n: int = 256) -> bytes:
    """The standard DAVIS / PASCAL VOC bit-interleaved palette: 0 black, 1 (128,0,0), 2 (0,128,0), 3 (128,128,0)..."""
    out = bytearray()
    for i in range(n):
        rgb = [0, 0, 0]
        c = i
        for j in range(8):
            for k in range(3):
                rgb[k] |= ((c >> k) & 1) << (7 - j)
            c >>= 3
        out += bytes(rgb)
    return bytes(out)


DAVIS_PALETTE: bytes = davis_palette()
_PALETTE_LOOKUP = {tuple(DAVIS_PALETTE[3 * i:3 * i + 3]): i for i in range(255, -1, -1)}


def read_mask(path: str | os.PathLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask file as an H×W uint8 index mask (0 = background); raises MaskError.

    ``size=(H, W)``, if given, must match the file. Empty (all-background) masks are returned as is.
    """
    p = Path(path)
    if not p.is_file():
        raise MaskError(f"mask file not found: {p}")
    try:
        with Image.open(p) as img:
            img.load()
            mask = _to_index(img)
    except (OSError, ValueError, SyntaxError) as exc:
        if isinstance(exc, MaskError):
            raise
        raise MaskError(f"cannot read mask {p}: {exc}") from exc
    if size is not None and tuple(mask.shape) != tuple(size):
        raise MaskError(f"mask {p} is {mask.shape[0]}x{mask.shape[1]} (HxW) but {size[0]}x{size[1]} was expected")
    return mask


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Atomically write an H×W index mask (ids 0..255) as a palette PNG with ``DAVIS_PALETTE``."""
    data = encode_mask_png(mask)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, data)


def encode_mask_png(mask: np.ndarray, compress_level: int = 6) -> bytes:
    """PNG bytes of an H×W index mask (ids 0..255) in palette mode with ``DAVIS_PALETTE`` (zlib level 0..9)."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise MaskError(f"a mask must be 2-D (H×W), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.dtype != bool and (arr.size and (arr.min() < 0 or arr.max() > 255)):
            raise MaskError(f"mask ids must be in 0..255, got {arr.min()}..{arr.max()}")
        arr = arr.astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(arr), mode="P")
    img.putpalette(DAVIS_PALETTE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def _to_index(img: Image.Image) -> np.ndarray:
    """Dispatch on the PIL mode."""
    if img.mode == "P":
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode == "1":
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode in ("L", "I;16", "I;16B", "I;16L", "I", "F"):
        return _from_gray(np.asarray(img))
    if img.mode == "LA":
        return _from_gray(np.asarray(img)[..., 0])
    if img.mode == "PA":
        return np.asarray(img)[..., 0].astype(np.uint8)
    rgba = np.asarray(img.convert("RGBA"))
    return _from_rgb(rgba[..., :3], rgba[..., 3])


def _from_gray(values: np.ndarray) -> np.ndarray:
    """Grayscale rules: binary {0, v}, small index image, or 50% threshold."""
    full = 255.0
    if values.dtype.kind == "f":
        full = 1.0 if values.size and float(values.max()) <= 1.0 else 255.0
    elif values.size and int(values.max()) > 255:
        full = 65535.0
    levels = np.unique(values)
    nonzero = levels[levels != 0]
    if values.dtype.kind in "ui" and full == 255.0:
        if len(nonzero) == 0:
            return np.zeros(values.shape, np.uint8)
        if len(nonzero) == 1 and nonzero[0] > MAX_OBJECTS:
            return (values == nonzero[0]).astype(np.uint8)
        if len(levels) <= MAX_OBJECTS and levels.max() <= 254 and levels.min() >= 0:
            return values.astype(np.uint8)
    return (values >= full / 2).astype(np.uint8)


def _from_rgb(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGB(A) rules: grey → grayscale rules, few colours → ids, many → luminance threshold."""
    flat = rgb.reshape(-1, 3)
    colours, inverse = np.unique(flat, axis=0, return_inverse=True)
    if len(colours) == 1 and alpha.min() != alpha.max():
        return _from_gray(alpha)
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return _from_gray(rgb[..., 0])
    if len(colours) > MAX_OBJECTS:
        lum = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return (lum >= 127.5).astype(np.uint8)
    ids = _colour_ids([tuple(int(v) for v in c) for c in colours])
    return ids[inverse.reshape(-1)].reshape(rgb.shape[:2]).astype(np.uint8)


def _colour_ids(colours: list[tuple[int, int, int]]) -> np.ndarray:
    """Object id per colour: black 0, DAVIS palette colours their index, others the next free ids."""
    ids = np.zeros(len(colours), np.int32)
    used = {0}
    pending = []
    for k, colour in enumerate(colours):
        known = _PALETTE_LOOKUP.get(colour)
        if known is not None and known not in used:
            ids[k] = known
            used.add(known)
        elif colour != (0, 0, 0):
            pending.append(k)
    free = (i for i in range(1, 256) if i not in used)
    for k in pending:
        ids[k] = next(free)
    return ids
