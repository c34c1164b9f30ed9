"""DAVIS / PASCAL-VOC palette used for object colours and palette PNGs."""

from __future__ import annotations

import numpy as np

from xmem_core.io.masks import DAVIS_PALETTE

PALETTE: np.ndarray = np.frombuffer(DAVIS_PALETTE, dtype=np.uint8).reshape(256, 3).copy()  # 256×3; 0 = background


def object_color(obj_id: int) -> tuple[int, int, int]:
    """RGB colour of object `obj_id` (1..255) in the DAVIS palette."""
    r, g, b = PALETTE[int(obj_id) % 256]
    return int(r), int(g), int(b)
