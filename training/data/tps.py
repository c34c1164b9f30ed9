"""Thin-plate-spline warp for static-image pretraining (spec §7.2 step 3, STCN's random_tps_warp)."""

from __future__ import annotations

import cv2
import numpy as np


def _kernel(r2: np.ndarray) -> np.ndarray:
    """TPS radial basis U(r) = r² log r² (0 at r = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r2 > 0, r2 * np.log(r2), 0.0)


def fit_tps(src: np.ndarray, dst: np.ndarray, reg: float = 1e-6) -> np.ndarray:
    """Fit f with f(src_i) = dst_i. src, dst: n×2 -> coefficients (n+3)×2 (n kernel weights, then affine)."""
    n = src.shape[0]
    k = _kernel(((src[:, None] - src[None]) ** 2).sum(-1)) + reg * np.eye(n)
    p = np.concatenate([np.ones((n, 1)), src], axis=1)
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
    b = np.zeros((n + 3, 2))
    b[:n] = dst
    return np.linalg.solve(a, b)


def eval_tps(coef: np.ndarray, ctrl: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Evaluate a fitted TPS at pts (m×2) -> m×2."""
    u = _kernel(((pts[:, None] - ctrl[None]) ** 2).sum(-1))
    p = np.concatenate([np.ones((pts.shape[0], 1)), pts], axis=1)
    return u @ coef[: ctrl.shape[0]] + p @ coef[ctrl.shape[0] :]


def sample_tps(rng: np.random.Generator, h: int, w: int, n_ctrl: int = 12, scale: float = 0.02) -> np.ndarray:
    """Control points at distinct random rows/cols (normalised x, y in [0, 1]) and N(0, scale) displacements.

    Returns 2×n×2: [source points, destination points].
    """
    n = min(n_ctrl, h, w)
    ys = rng.choice(h, n, replace=False) / max(h - 1, 1)
    xs = rng.choice(w, n, replace=False) / max(w - 1, 1)
    src = np.stack([xs, ys], axis=1)
    dst = src + rng.normal(scale=scale, size=src.shape)
    return np.stack([src, dst])


def tps_maps(points: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps that move content at src points to dst points (the inverse map dst -> src is fitted)."""
    src, dst = points
    coef = fit_tps(dst, src)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    grid = np.stack([gx.ravel() / max(w - 1, 1), gy.ravel() / max(h - 1, 1)], axis=1)
    mapped = eval_tps(coef, dst, grid)
    mx = (mapped[:, 0] * (w - 1)).reshape(h, w).astype(np.float32)
    my = (mapped[:, 1] * (h - 1)).reshape(h, w).astype(np.float32)
    return mx, my


def tps_warp(img: np.ndarray, mask: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp image (bilinear, replicated border) and mask (nearest) with the same TPS. Shapes are kept."""
    h, w = img.shape[:2]
    mx, my = tps_maps(points, h, w)
    out_img = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out_mask = cv2.remap(mask, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    return out_img, out_mask
