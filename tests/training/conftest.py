"""Generated miniature datasets (static image+mask folders, DAVIS and YouTube-VOS layouts) for training tests.

Colour code: background blue-ish, object id k painted with COLOURS[k]; tests check that labels and colours stay
aligned after augmentation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

COLOURS = {1: (230, 20, 20), 3: (230, 20, 20), 7: (20, 230, 20), 9: (230, 230, 20)}  # id -> RGB
BG = (20, 20, 200)


def _palette_png(path: Path, mask: np.ndarray) -> None:
    im = Image.fromarray(mask.astype(np.uint8), mode="P")
    pal = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [i % 256 for i in range(12, 768)]
    im.putpalette(pal)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def _frame(h: int, w: int, objects: dict[int, tuple[int, int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Image (H×W×3 uint8) and label map with rectangles {id: (top, left, height, width)}."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = BG
    img[::8] = (40, 40, 170)  # some texture
    mask = np.zeros((h, w), np.uint8)
    for k, (t, left, hh, ww) in objects.items():
        img[t : t + hh, left : left + ww] = COLOURS[k]
        mask[t : t + hh, left : left + ww] = k
    return img, mask


def _save_jpg(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=95)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("train_data")
    rng = np.random.default_rng(0)
    # static, ECSSD layout (palette masks) + one DUTS-style grayscale mask
    for i in range(4):
        img, mask = _frame(72, 96, {1: (int(rng.integers(10, 30)), int(rng.integers(10, 40)), 30, 36)})
        _save_jpg(root / "ecssd" / "images" / f"{i:04d}.jpg", img)
        if i == 3:
            Image.fromarray(mask * 255).save(root / "ecssd" / "masks" / f"{i:04d}.png")
        else:
            _palette_png(root / "ecssd" / "masks" / f"{i:04d}.png", mask)
    # static, FSS layout: class/NAME.jpg + NAME.png
    for c in ("cat", "dog"):
        img, mask = _frame(64, 64, {1: (16, 16, 30, 30)})
        _save_jpg(root / "fss" / c / "1.jpg", img)
        Image.fromarray(mask * 255).save(root / "fss" / c / "1.png")
    # DAVIS layout: 3 clips × 8 frames, 80×112; clip0 has objects 3 and 7, clip2 has 4 objects
    layouts = {"clip0": (3, 7), "clip1": (1,), "clip2": (1, 7, 9, 3)}
    for ci, (clip, ids) in enumerate(layouts.items()):
        for f in range(8):
            objs = {k: (8 + 14 * j, 6 + 2 * f + 4 * ci + 20 * j, 12, 16) for j, k in enumerate(ids)}
            img, mask = _frame(80, 112, objs)
            _save_jpg(root / "davis" / "JPEGImages" / clip / f"{f:05d}.jpg", img)
            _palette_png(root / "davis" / "Annotations" / clip / f"{f:05d}.png", mask)
    # YouTube-VOS layout: 12 frames, annotations on every 2nd frame only
    for f in range(12):
        img, mask = _frame(64, 96, {7: (10, 10 + 3 * f, 20, 20)})
        _save_jpg(root / "youtube" / "JPEGImages" / "vid0" / f"{f:05d}.jpg", img)
        if f % 2 == 0:
            _palette_png(root / "youtube" / "Annotations" / "vid0" / f"{f:05d}.png", mask)
    return root


def colour_of(rgb_chw: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Median colour (3,) of a uint8 3×H×W image over a boolean H×W region."""
    return np.median(rgb_chw[:, region], axis=1)


def interior(region: np.ndarray, r: int = 2) -> np.ndarray:
    """Erode a boolean mask by r pixels (4-neighbourhood), to skip interpolated borders."""
    out = region.copy()
    for _ in range(r):
        out[1:] &= out[:-1].copy()
        out[:-1] &= out[1:].copy()
        out[:, 1:] &= out[:, :-1].copy()
        out[:, :-1] &= out[:, 1:].copy()
    return out
