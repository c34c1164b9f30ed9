"""Image/mask augmentations on numpy arrays (no torchvision), with torchvision-like semantics.

Conventions: images are float32 H×W×3 RGB in [0, 1]; masks are H×W arrays, either uint8 index maps
(warped with nearest) or float32 soft masks (static pretraining warps them bicubic, then thresholds).
Every random function takes an explicit `np.random.Generator`, and the *parameters* are drawn separately
from their application so a clip can share one draw across all its frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MEAN_FILL = (124 / 255, 116 / 255, 104 / 255)  # mean colour fill for geometric transforms (spec §7.2)

INTERP = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
}


# ---------------------------------------------------------------- affine


@dataclass(frozen=True)
class AffineParams:
    """One draw of a torchvision-style RandomAffine (degrees, translate fraction, scale, shear degrees)."""

    angle: float = 0.0
    translate: tuple[float, float] = (0.0, 0.0)  # fraction of width / height
    scale: float = 1.0
    shear: tuple[float, float] = (0.0, 0.0)  # degrees along x / y


def sample_affine(
    rng: np.random.Generator,
    degrees: float = 0.0,
    translate: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
    shear: float = 0.0,
) -> AffineParams:
    """Draw affine parameters uniformly (rotation in ±degrees, shear_x in ±shear, like torchvision)."""
    angle = float(rng.uniform(-degrees, degrees)) if degrees else 0.0
    tx = float(rng.uniform(-translate, translate)) if translate else 0.0
    ty = float(rng.uniform(-translate, translate)) if translate else 0.0
    s = float(rng.uniform(*scale)) if scale[0] != scale[1] else float(scale[0])
    sh = float(rng.uniform(-shear, shear)) if shear else 0.0
    return AffineParams(angle, (tx, ty), s, (sh, 0.0))


def affine_matrix(p: AffineParams, h: int, w: int) -> np.ndarray:
    """2×3 forward matrix: translate(centre + t) · rotate · shear · scale · translate(-centre)."""
    cx, cy = (w - 1) * 0.5, (h - 1) * 0.5
    a = math.radians(p.angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shx, shy = (math.tan(math.radians(s)) for s in p.shear)
    shear = np.array([[1.0, shx], [shy, 1.0]])
    lin = rot @ shear * p.scale
    t = np.array([cx + p.translate[0] * w, cy + p.translate[1] * h]) - lin @ np.array([cx, cy])
    return np.concatenate([lin, t[:, None]], axis=1).astype(np.float64)


def warp_affine(x: np.ndarray, p: AffineParams, interp: str, fill: float | tuple[float, ...] = 0.0) -> np.ndarray:
    """Apply `p` to an H×W or H×W×C array, keeping its size; outside pixels get `fill`."""
    h, w = x.shape[:2]
    if p == AffineParams():
        return x
    border = tuple(fill) if isinstance(fill, tuple) else (fill,) * 4
    return cv2.warpAffine(x, affine_matrix(p, h, w), (w, h), flags=INTERP[interp], borderValue=border)


# ---------------------------------------------------------------- flips, resize, crops


def hflip(x: np.ndarray) -> np.ndarray:
    """Mirror left-right (H×W or H×W×C)."""
    return np.ascontiguousarray(x[:, ::-1])


def resize(x: np.ndarray, size: tuple[int, int], interp: str) -> np.ndarray:
    """Resize to (h, w)."""
    h, w = size
    if x.shape[:2] == (h, w):
        return x
    return cv2.resize(x, (w, h), interpolation=INTERP[interp])


def resize_short(x: np.ndarray, short: int, interp: str) -> np.ndarray:
    """Resize so that the shorter side equals `short` (aspect kept)."""
    h, w = x.shape[:2]
    s = short / min(h, w)
    return resize(x, (max(short, round(h * s)), max(short, round(w * s))), interp)


def sample_crop(rng: np.random.Generator, h: int, w: int, size: int) -> tuple[int, int]:
    """Top-left corner of a random size×size crop inside a (padded) h×w image."""
    return int(rng.integers(0, max(h - size, 0) + 1)), int(rng.integers(0, max(w - size, 0) + 1))


def pad_crop(x: np.ndarray, top: int, left: int, size: int, fill: float | tuple[float, ...] = 0.0) -> np.ndarray:
    """Crop size×size at (top, left), padding bottom/right with `fill` when the image is smaller."""
    h, w = x.shape[:2]
    if h < size or w < size:
        out = np.empty((max(h, size), max(w, size)) + x.shape[2:], x.dtype)
        out[...] = np.asarray(fill, dtype=x.dtype) if x.ndim == 3 else np.asarray(fill, x.dtype).reshape(-1)[0]
        out[:h, :w] = x
        x = out
    return x[top : top + size, left : left + size]


def sample_resized_crop(
    rng: np.random.Generator,
    h: int,
    w: int,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """torchvision RandomResizedCrop.get_params: returns (top, left, crop_h, crop_w)."""
    area = h * w
    log_r = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        ar = math.exp(rng.uniform(*log_r))
        cw, ch = round(math.sqrt(target * ar)), round(math.sqrt(target / ar))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
    in_ratio = w / h  # fallback: central crop
    if in_ratio < ratio[0]:
        cw, ch = w, round(w / ratio[0])
    elif in_ratio > ratio[1]:
        ch, cw = h, round(h * ratio[1])
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def resized_crop(x: np.ndarray, box: tuple[int, int, int, int], size: int, interp: str) -> np.ndarray:
    """Crop `box` = (top, left, h, w) and resize to size×size."""
    t, left, ch, cw = box
    return resize(x[t : t + ch, left : left + cw], (size, size), interp)


# ---------------------------------------------------------------- colour


@dataclass(frozen=True)
class JitterParams:
    """One draw of torchvision ColorJitter: factors and the order they are applied in."""

    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0
    order: tuple[int, ...] = (0, 1, 2, 3)


def sample_jitter(
    rng: np.random.Generator, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0, hue: float = 0.0
) -> JitterParams:
    """Factors in [1-x, 1+x] (hue shift in [-hue, hue] turns) and a random order, as torchvision."""

    def f(x: float) -> float:
        return float(rng.uniform(max(0.0, 1 - x), 1 + x)) if x else 1.0

    b, c, s = f(brightness), f(contrast), f(saturation)
    hh = float(rng.uniform(-hue, hue)) if hue else 0.0
    return JitterParams(b, c, s, hh, tuple(int(i) for i in rng.permutation(4)))


def to_gray(img: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, H×W×1 (float32)."""
    return (img @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]


def adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotate hue by `shift` turns (float32 RGB in [0, 1])."""
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)  # H in degrees [0, 360)
    hsv[..., 0] = (hsv[..., 0] + shift * 360.0) % 360.0
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def color_jitter(img: np.ndarray, p: JitterParams) -> np.ndarray:
    """Apply brightness / contrast / saturation / hue in `p.order`; output clipped to [0, 1]."""
    out = img
    for op in p.order:
        if op == 0 and p.brightness != 1.0:
            out = np.clip(out * p.brightness, 0, 1)
        elif op == 1 and p.contrast != 1.0:
            mean = float(to_gray(out).mean())
            out = np.clip(out * p.contrast + mean * (1 - p.contrast), 0, 1)
        elif op == 2 and p.saturation != 1.0:
            out = np.clip(out * p.saturation + to_gray(out) * (1 - p.saturation), 0, 1)
        elif op == 3 and p.hue != 0.0:
            out = adjust_hue(np.ascontiguousarray(out, dtype=np.float32), p.hue)
    return out.astype(np.float32, copy=False)


def grayscale(img: np.ndarray) -> np.ndarray:
    """Grayscale replicated over three channels."""
    return np.repeat(to_gray(img), 3, axis=2)


# ---------------------------------------------------------------- conversion


def to_float_image(img: np.ndarray) -> np.ndarray:
    """uint8 H×W×3 -> float32 in [0, 1]."""
    return img.astype(np.float32) * (1 / 255)


def to_uint8_chw(img: np.ndarray) -> np.ndarray:
    """float32 H×W×3 in [0, 1] -> uint8 3×H×W (what the loaders ship; the trainer normalises on device)."""
    return np.ascontiguousarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(2, 0, 1))
