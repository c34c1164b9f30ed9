"""DAVIS / PASCAL-VOC palette used for object colours and palette PNGs."""

from __future__ import annotations

import numpy as np


def _voc_palette(n: int = 256) -> np.ndarray:
    pal = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


def davis_palette() -> np.ndarray:
    """256×3 uint8 palette; index 0 is background (black). Uses the engine's table when available."""
    try:
        from xmem_core.io import DAVIS_PALETTE  # type: ignore[attr-defined]

        return np.frombuffer(bytes(DAVIS_PALETTE), dtype=np.uint8).reshape(256, 3).copy()
    except Exception:  # engine not there yet, or a different layout
        return _voc_palette()


PALETTE: np.ndarray = davis_palette()
PALETTE_BYTES: bytes = PALETTE.tobytes()


def object_color(obj_id: int) -> tuple[int, int, int]:
    """RGB colour of object `obj_id` (1..255) in the DAVIS palette."""
    r, g, b = PALETTE[int(obj_id) % 256]
    return int(r), int(g), int(b)
