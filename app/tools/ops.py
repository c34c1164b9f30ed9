"""Mask editing operations on H×W uint8 index masks (pure numpy/OpenCV, unit-testable)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Point = tuple[float, float]  # (x, y) in image pixels


def stroke_layer(shape: tuple[int, int], points: Sequence[Point], size: float) -> np.ndarray:
    """Boolean layer covered by a round brush of diameter `size` dragged through `points`."""
    layer = np.zeros(shape, np.uint8)
    r = max(1, int(round(size / 2)))
    pts = [(int(round(x)), int(round(y))) for x, y in points]
    if len(pts) == 1:
        cv2.circle(layer, pts[0], r, 1, -1)
    for a, b in zip(pts, pts[1:], strict=False):
        cv2.line(layer, a, b, 1, thickness=2 * r)
        cv2.circle(layer, b, r, 1, -1)
    if pts:
        cv2.circle(layer, pts[0], r, 1, -1)
    return layer.astype(bool)


def apply_layer(mask: np.ndarray, layer: np.ndarray, obj_id: int, erase: bool = False) -> np.ndarray:
    """Paint `layer` with `obj_id` (over other objects), or erase `obj_id` under it."""
    out = mask.copy()
    if erase:
        out[layer & (out == obj_id)] = 0
    else:
        out[layer] = obj_id
    return out


def polygon_layer(shape: tuple[int, int], points: Sequence[Point]) -> np.ndarray:
    """Boolean layer inside the closed polygon / lasso through `points`."""
    layer = np.zeros(shape, np.uint8)
    if len(points) >= 3:
        pts = np.round(np.asarray(points, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(layer, [pts], 1)
    return layer.astype(bool)


def flood_fill(mask: np.ndarray, seed: Point, obj_id: int) -> np.ndarray:
    """Fill the 4-connected region of equal label around `seed` with `obj_id` (fills holes and enclosed areas)."""
    x, y = int(seed[0]), int(seed[1])
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h) or mask[y, x] == obj_id:
        return mask.copy()
    region = (mask == mask[y, x]).astype(np.uint8)
    n, labels = cv2.connectedComponents(region, connectivity=4)
    out = mask.copy()
    out[labels == labels[y, x]] = obj_id
    return out


def grabcut(image: np.ndarray, mask: np.ndarray, rect: tuple[int, int, int, int], obj_id: int,
            iterations: int = 3, max_side: int = 640) -> np.ndarray:
    """GrabCut inside box `rect` (x0, y0, x1, y1) on the RGB `image`; the object's existing mask in the box
    seeds the model (refine), otherwise the box initialises it. Works on a downscaled copy for speed and
    returns the full-resolution mask with the box region relabelled for `obj_id`."""
    h, w = mask.shape
    x0, y0, x1, y1 = (int(v) for v in rect)
    x0, x1 = sorted((max(0, min(w, x0)), max(0, min(w, x1))))
    y0, y1 = sorted((max(0, min(h, y0)), max(0, min(h, y1))))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return mask.copy()
    # work on a padded crop around the box so GrabCut sees some background
    pad = max(8, (x1 - x0 + y1 - y0) // 8)
    cx0, cy0, cx1, cy1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    crop = np.ascontiguousarray(image[cy0:cy1, cx0:cx1, ::-1])  # BGR for OpenCV
    scale = min(1.0, max_side / max(crop.shape[:2]))
    if scale < 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ch, cw = crop.shape[:2]
    bx0, by0 = int((x0 - cx0) * scale), int((y0 - cy0) * scale)
    bx1, by1 = max(bx0 + 2, int((x1 - cx0) * scale)), max(by0 + 2, int((y1 - cy0) * scale))
    gc = np.full((ch, cw), cv2.GC_BGD, np.uint8)
    gc[by0:by1, bx0:bx1] = cv2.GC_PR_BGD
    existing = (mask[cy0:cy1, cx0:cx1] == obj_id).astype(np.uint8)
    if scale < 1.0:
        existing = cv2.resize(existing, (cw, ch), interpolation=cv2.INTER_NEAREST)
    inbox = np.zeros_like(gc, dtype=bool)
    inbox[by0:by1, bx0:bx1] = True
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        if (existing.astype(bool) & inbox).sum() > 16:
            gc[(existing > 0) & inbox] = cv2.GC_PR_FGD
            cv2.grabCut(crop, gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
        else:
            cv2.grabCut(crop, gc, (bx0, by0, bx1 - bx0, by1 - by0), bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return mask.copy()
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1.0:
        fg = cv2.resize(fg, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_NEAREST)
    out = mask.copy()
    sub = out[y0:y1, x0:x1]
    fg_box = fg[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0].astype(bool)
    sub[(sub == obj_id) & ~fg_box] = 0
    sub[fg_box] = obj_id
    return out
