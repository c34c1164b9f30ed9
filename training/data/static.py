"""Static-image pretraining (stage 0): image+mask pairs deformed into short pseudo-videos (spec §7.2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from training.data import transforms as tf
from training.data.io import IMAGE_EXTS, ArrayCache, read_binary_mask, read_rgb
from training.data.sampling import SampleKey, as_key
from training.data.tps import sample_tps, tps_warp


@dataclass(frozen=True)
class StaticAugment:
    """Static pretraining augmentation (defaults = the paper's)."""

    seq_scale: tuple[float, float] = (0.8, 1.5)
    frame_degrees: float = 20.0
    frame_scale: tuple[float, float] = (0.9, 1.1)
    frame_shear: float = 10.0
    tps_prob: float = 0.33
    tps_scale: float = 0.02
    tps_points: int = 12
    seq_jitter: tuple[float, float, float, float] = (0.1, 0.05, 0.05, 0.05)
    frame_jitter: tuple[float, float, float, float] = (0.1, 0.05, 0.05, 0.0)
    gray_prob: float = 0.05
    flip_prob: float = 0.5


def _split_dirs(root: Path) -> tuple[Path, Path] | None:
    """(images dir, masks dir) for layouts like ECSSD (images/, masks/) or DUTS (DUTS-TR-Image/, DUTS-TR-Mask/)."""
    subdirs = [d for d in root.iterdir() if d.is_dir()]
    ims = [d for d in subdirs if "image" in d.name.lower()]
    mks = [d for d in subdirs if "mask" in d.name.lower() or d.name.lower() in ("gt", "annotations")]
    return (ims[0], mks[0]) if len(ims) == 1 and len(mks) == 1 else None


def _pairs_in(im_dir: Path, mask_dir: Path) -> list[tuple[Path, Path]]:
    masks = {p.stem: p for p in mask_dir.iterdir() if p.suffix.lower() == ".png"}
    ims = sorted(p for p in im_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    return [(p, masks[p.stem]) for p in ims if p.stem in masks]


def find_pairs(root: str | Path, layout: str = "auto", every: int = 1) -> list[tuple[Path, Path]]:
    """(image, mask) pairs under `root`.

    layout: "split" (ECSSD/DUTS: an images folder and a masks folder), "flat" (FSS/STCN: NAME.jpg + NAME.png
    side by side, searched recursively), "davis" (JPEGImages/<clip>/ + Annotations/<clip>/, every k-th
    annotated frame), or "auto" (guessed in that order of preference: davis, split, flat).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"static source {root} is not a folder")
    if layout == "auto":
        layout = "davis" if (root / "JPEGImages").is_dir() else "split" if _split_dirs(root) else "flat"
    if layout == "davis":
        pairs = []
        for clip in sorted((root / "JPEGImages").iterdir()):
            if clip.is_dir() and (root / "Annotations" / clip.name).is_dir():
                pairs += _pairs_in(clip, root / "Annotations" / clip.name)[::every]
        return pairs
    if layout == "split":
        dirs = _split_dirs(root)
        if dirs is None:
            raise FileNotFoundError(f"{root}: expected one images folder and one masks folder")
        return _pairs_in(*dirs)[::every]
    if layout == "flat":
        pairs = []
        for d in sorted({p.parent for p in root.rglob("*.png")}):
            pairs += [(i, m) for i, m in _pairs_in(d, d) if i.suffix.lower() != ".png"]
        return pairs[::every]
    raise ValueError(f"unknown static layout {layout!r}")


class StaticImageDataset(Dataset):
    """Each item: one image turned into a `num_frames` pseudo-clip with one object.

    Item fields: rgb T×3×S×S uint8, cls_gt T×1×S×S uint8 (0/1), first_frame_gt 1×N×S×S float32 (slot 0 = the
    object, other slots empty), selector N float32, num_objects int (1). N = `num_slots` (1 for the stage-0
    single-object network).
    """

    def __init__(
        self,
        pairs: list[tuple[Path, Path]],
        size: int = 384,
        num_frames: int = 3,
        num_slots: int = 1,
        augment: StaticAugment | None = None,
        max_short: int = 0,
        cache_bytes: int = 0,
    ) -> None:
        if not pairs:
            raise ValueError("static dataset has no image/mask pairs")
        self.pairs, self.size, self.num_frames, self.num_slots = pairs, size, num_frames, num_slots
        self.aug = augment or StaticAugment()
        self.max_short = max_short
        self.cache = ArrayCache(cache_bytes)

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        im_path, mask_path = self.pairs[i]
        img = tf.to_float_image(read_rgb(im_path, self.cache, self.max_short))
        mask = read_binary_mask(mask_path)
        if mask.shape != img.shape[:2]:
            mask = tf.resize(mask, img.shape[:2], "nearest")
        return img, mask

    def _frame(self, rng: np.random.Generator, img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame deformation: affine, resize, crop, jitter, maybe TPS. Returns S×S×3 float, S×S bool."""
        a, s = self.aug, self.size
        p = tf.sample_affine(rng, a.frame_degrees, 0.0, a.frame_scale, a.frame_shear)
        im = tf.warp_affine(img, p, "bicubic", tf.MEAN_FILL)
        m = tf.warp_affine(mask, p, "bicubic", 0.0)
        im, m = tf.resize_short(im, s, "bicubic"), tf.resize_short(m, s, "nearest")
        top, left = tf.sample_crop(rng, *im.shape[:2], s)
        im, m = tf.pad_crop(im, top, left, s, tf.MEAN_FILL), tf.pad_crop(m, top, left, s, 0.0)
        im = tf.color_jitter(np.clip(im, 0, 1), tf.sample_jitter(rng, *a.frame_jitter))
        if rng.random() < a.tps_prob:
            im, m = tps_warp(im, np.ascontiguousarray(m), sample_tps(rng, s, s, a.tps_points, a.tps_scale))
        return im, m > 0.5

    def __getitem__(self, item: SampleKey | int) -> dict:
        key = as_key(item)
        rng = np.random.default_rng(key.seed)
        img, mask = self._load(key.index)
        a = self.aug
        seq = tf.sample_affine(rng, 0.0, 0.0, a.seq_scale, 0.0)
        img = tf.warp_affine(img, seq, "bilinear", tf.MEAN_FILL)
        mask = tf.warp_affine(mask, seq, "bilinear", 0.0)
        if rng.random() < a.flip_prob:
            img, mask = tf.hflip(img), tf.hflip(mask)
        img = tf.color_jitter(img, tf.sample_jitter(rng, *a.seq_jitter))
        if rng.random() < a.gray_prob:
            img = tf.grayscale(img)
        frames, masks = zip(*(self._frame(rng, img, mask) for _ in range(self.num_frames)), strict=True)
        return self._pack(frames, masks)

    def _pack(self, frames: tuple[np.ndarray, ...], masks: tuple[np.ndarray, ...]) -> dict:
        cls_gt = np.stack(masks).astype(np.uint8)[:, None]  # T×1×S×S
        first = np.zeros((1, self.num_slots, self.size, self.size), np.float32)
        first[0, 0] = cls_gt[0, 0]
        selector = np.zeros(self.num_slots, np.float32)
        selector[0] = 1
        return {
            "rgb": torch.from_numpy(np.stack([tf.to_uint8_chw(f) for f in frames])),
            "cls_gt": torch.from_numpy(cls_gt),
            "first_frame_gt": torch.from_numpy(first),
            "selector": torch.from_numpy(selector),
            "num_objects": 1,
        }
