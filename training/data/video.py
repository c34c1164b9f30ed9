"""Video training data (stages 1-3): DAVIS / YouTube-VOS folder layouts, clips of T frames (spec §7.3-7.4).

Single-object datasets (DAVIS 2016) can be made multi-object by pasting the objects of other clips, each
pasted clip moving with its own frames, onto the sampled clip, and the objects of still images (ECSSD), each
drifting, turning and zooming smoothly over the clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from training.data import transforms as tf
from training.data.io import IMAGE_EXTS, ArrayCache, read_binary_mask, read_index_mask, read_rgb
from training.data.sampling import SampleKey, as_key


@dataclass(frozen=True)
class Clip:
    """A training video: frames and masks with matching stems, in order."""

    name: str
    frames: tuple[Path, ...]
    masks: tuple[Path, ...]
    skip_divisor: int = 1  # 5 for YouTube-VOS (annotations at 1/5 of the frame rate)
    paste: bool = False  # allow pasting other clips' objects onto this one


@dataclass(frozen=True)
class VideoAugment:
    """Video augmentation (defaults = the paper's; fine-tune phase drops the per-frame affine)."""

    crop_scale: tuple[float, float] = (0.36, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    frame_degrees: float = 15.0
    frame_shear: float = 10.0
    seq_jitter: tuple[float, float, float, float] = (0.1, 0.03, 0.03, 0.0)
    frame_jitter: tuple[float, float, float, float] = (0.01, 0.01, 0.01, 0.0)
    gray_prob: float = 0.05
    flip_prob: float = 0.5
    paste_prob: float = 0.5  # chance to paste objects (clips with paste=True only)
    max_paste: int = 2  # pasted clips per sample at most
    paste_scale: tuple[float, float] = (0.4, 1.0)  # sequence-level shrink of a pasted clip
    paste_translate: float = 0.25
    paste_image_prob: float = 0.5  # chance that a pasted object is a still image's (when the dataset has images)
    image_motion: tuple[float, float, float] = (2.0, 0.02, 0.01)  # a pasted image's per-frame drift: deg, shift, zoom


def find_clips(
    root: str | Path,
    skip_divisor: int = 1,
    paste: bool = False,
    subset: str | Path | None = None,
    min_frames: int = 1,
) -> list[Clip]:
    """Clips of a DAVIS (JPEGImages/[480p/]<clip>) or YouTube-VOS (JPEGImages/<vid>) training folder.

    Only frames with an annotation of the same stem are used. `subset` is a text file of clip names.
    """
    root = Path(root)
    im_root, gt_root = root / "JPEGImages", root / "Annotations"
    if (im_root / "480p").is_dir():
        im_root, gt_root = im_root / "480p", gt_root / "480p"
    if not im_root.is_dir() or not gt_root.is_dir():
        raise FileNotFoundError(f"{root}: expected JPEGImages/ and Annotations/ folders")
    keep = set(Path(subset).read_text().split()) if subset else None
    clips = []
    for d in sorted(p for p in im_root.iterdir() if p.is_dir()):
        if keep is not None and d.name not in keep:
            continue
        masks = {p.stem: p for p in (gt_root / d.name).glob("*.png")}
        frames = [p for p in sorted(d.iterdir()) if p.suffix.lower() in IMAGE_EXTS and p.stem in masks]
        if len(frames) >= min_frames:
            clips.append(Clip(d.name, tuple(frames), tuple(masks[p.stem] for p in frames), skip_divisor, paste))
    return clips


def sample_frame_indices(rng: np.random.Generator, length: int, num_frames: int, max_jump: int) -> list[int]:
    """Spec §7.3: grow a set of frames, each new one within ±J of any chosen one; sort, maybe reverse."""
    jump = max(1, min(length, max_jump))
    chosen = [int(rng.integers(length))]
    acceptable: set[int] = set()
    while len(chosen) < num_frames:
        last = chosen[-1]
        acceptable |= set(range(max(0, last - jump), min(length, last + jump + 1)))
        acceptable -= set(chosen)
        chosen.append(int(rng.choice(sorted(acceptable))))
    chosen.sort()
    return chosen[::-1] if rng.random() < 0.5 else chosen


class VideoDataset(Dataset):
    """Each item: T frames of one clip (plus pasted objects) with up to `max_objects` objects.

    Item fields: rgb T×3×S×S uint8, cls_gt T×1×S×S uint8 (0 = bg, 1..n renumbered objects), first_frame_gt
    1×N×S×S float32 one-hot of frame 0 (N = max_objects slots), selector N float32 (1 for real objects),
    num_objects int (>= 1). `dataset.repeats` replicates clips (DAVIS ×5 in the paper).
    """

    def __init__(
        self,
        clips: list[Clip],
        size: int = 384,
        num_frames: int = 8,
        max_objects: int = 3,
        augment: VideoAugment | None = None,
        repeats: list[int] | None = None,
        max_short: int = 0,
        cache_bytes: int = 0,
        paste_images: list[tuple[Path, Path]] | None = None,
    ) -> None:
        self.paste_images = paste_images or []  # (image, mask) pairs whose objects are pasted as distractors
        self.eligible = [i for i, c in enumerate(clips) if len(c.frames) >= num_frames]
        if not self.eligible:
            raise ValueError(f"no clip has {num_frames} annotated frames")
        reps = repeats or [1] * len(clips)
        self.items = [i for i in self.eligible for _ in range(reps[i])]
        self.all_clips = clips
        self.size, self.num_frames, self.max_objects = size, num_frames, max_objects
        self.aug = augment or VideoAugment()
        self.max_short = max_short
        self.cache = ArrayCache(cache_bytes)

    def __len__(self) -> int:
        return len(self.items)

    def _clip_frames(self, rng: np.random.Generator, clip: Clip, max_skip: int, finetune: bool) -> tuple:
        """Sample and augment T frames: returns (images T×S×S×3 float32, masks T×S×S uint8 labels)."""
        a, s = self.aug, self.size
        idx = sample_frame_indices(rng, len(clip.frames), self.num_frames, max_skip // clip.skip_divisor)
        first = read_rgb(clip.frames[idx[0]], self.cache, self.max_short)
        flip = rng.random() < a.flip_prob
        box = tf.sample_resized_crop(rng, *first.shape[:2], a.crop_scale, a.crop_ratio)
        seq_jit = tf.sample_jitter(rng, *a.seq_jitter)
        gray = rng.random() < a.gray_prob
        ims, ms = [], []
        for i in idx:
            im = read_rgb(clip.frames[i], self.cache, self.max_short)
            m = read_index_mask(clip.masks[i], self.cache, self.max_short)
            if m.shape != im.shape[:2]:
                m = tf.resize(m, im.shape[:2], "nearest")
            if flip:
                im, m = tf.hflip(im), tf.hflip(m)
            im = tf.color_jitter(tf.to_float_image(tf.resized_crop(im, box, s, "bilinear")), seq_jit)
            m = tf.resized_crop(m, box, s, "nearest")
            if gray:
                im = tf.grayscale(im)
            if not finetune:
                p = tf.sample_affine(rng, a.frame_degrees, 0.0, (1.0, 1.0), a.frame_shear)
                im, m = tf.warp_affine(im, p, "bilinear", tf.MEAN_FILL), tf.warp_affine(m, p, "nearest", 0)
            ims.append(tf.color_jitter(im, tf.sample_jitter(rng, *a.frame_jitter)))
            ms.append(m)
        return np.stack(ims), np.stack(ms)

    def _image_donor(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A still image's object as a clip: T×S×S×3 float32 frames, T×S×S uint8 masks (label 1).

        One random resized crop of the image, then a smooth motion (rotation, shift and zoom growing linearly with
        the frame index, rates drawn per clip) so that the object moves like a filmed one rather than jittering."""
        a, s, t = self.aug, self.size, self.num_frames
        im_path, mask_path = self.paste_images[int(rng.integers(len(self.paste_images)))]
        img = tf.to_float_image(read_rgb(im_path, self.cache, self.max_short))
        mask = read_binary_mask(mask_path).astype(np.uint8)
        if mask.shape != img.shape[:2]:
            mask = tf.resize(mask, img.shape[:2], "nearest")
        box = tf.sample_resized_crop(rng, *img.shape[:2], a.crop_scale, a.crop_ratio)
        img, mask = tf.resized_crop(img, box, s, "bilinear"), tf.resized_crop(mask, box, s, "nearest")
        max_deg, max_shift, max_zoom = a.image_motion
        deg, zoom = float(rng.uniform(-max_deg, max_deg)), float(rng.uniform(-max_zoom, max_zoom))
        dx, dy = (float(v) for v in rng.uniform(-max_shift, max_shift, 2))
        ims, ms = [], []
        for k in range(t):
            p = tf.AffineParams(deg * k, (dx * k, dy * k), 1.0 + zoom * k, (0.0, 0.0))
            ims.append(tf.warp_affine(img, p, "bilinear", tf.MEAN_FILL))
            ms.append(tf.warp_affine(mask, p, "nearest", 0))
        return np.stack(ims), np.stack(ms)

    def _paste(self, rng: np.random.Generator, ims: np.ndarray, ms: np.ndarray, clip_id: int, key: SampleKey) -> None:
        """In place: paste the objects of 1..max_paste other clips or still images on top, as new labels."""
        a = self.aug
        others = [i for i in self.eligible if i != clip_id]
        if not others and not self.paste_images:
            return
        for _ in range(int(rng.integers(1, a.max_paste + 1))):
            if self.paste_images and (not others or rng.random() < a.paste_image_prob):
                d_ims, d_ms = self._image_donor(rng)
            else:
                donor = self.all_clips[int(rng.choice(others))]
                d_ims, d_ms = self._clip_frames(rng, donor, key.max_skip, key.finetune)
            p = tf.sample_affine(rng, 0.0, a.paste_translate, a.paste_scale, 0.0)
            d_ms = np.stack([tf.warp_affine(m, p, "nearest", 0) for m in d_ms])
            donor_labels = [int(v) for v in np.unique(d_ms[0]) if v != 0]
            if not donor_labels or int(ms.max()) + len(donor_labels) > 255:
                continue
            d_ims = np.stack([tf.warp_affine(im, p, "bilinear", tf.MEAN_FILL) for im in d_ims])
            fg = d_ms > 0
            ims[fg] = d_ims[fg]
            ms[fg] = 0  # occluded by the pasted object; donor labels absent from frame 0 stay background
            base = int(ms.max())
            for k, lab in enumerate(donor_labels, start=1):
                ms[d_ms == lab] = base + k

    def __getitem__(self, item: SampleKey | int) -> dict:
        key = as_key(item)
        rng = np.random.default_rng(key.seed)
        clip_id = self.items[key.index % len(self.items)]
        clip = self.all_clips[clip_id]
        labels: list[int] = []
        for _ in range(5):  # retry the frame sampling when frame 0 has no object (spec §7.3)
            ims, ms = self._clip_frames(rng, clip, key.max_skip, key.finetune)
            if clip.paste and rng.random() < self.aug.paste_prob:
                self._paste(rng, ims, ms, clip_id, key)
            labels = [int(v) for v in np.unique(ms[0]) if v != 0]
            if labels:
                break
        if len(labels) > self.max_objects:
            labels = sorted(int(v) for v in rng.choice(labels, self.max_objects, replace=False))
        return self._pack(ims, ms, labels)

    def _pack(self, ims: np.ndarray, ms: np.ndarray, labels: list[int]) -> dict:
        lut = np.zeros(256, np.uint8)
        for new, old in enumerate(labels, start=1):
            lut[old] = new
        cls_gt = lut[ms][:, None]  # T×1×S×S
        n = self.max_objects
        first = np.stack([cls_gt[0, 0] == k + 1 for k in range(n)]).astype(np.float32)[None]
        selector = (np.arange(n) < len(labels)).astype(np.float32)
        return {
            "rgb": torch.from_numpy(np.stack([tf.to_uint8_chw(f) for f in ims])),
            "cls_gt": torch.from_numpy(np.ascontiguousarray(cls_gt)),
            "first_frame_gt": torch.from_numpy(first),
            "selector": torch.from_numpy(selector),
            "num_objects": max(1, len(labels)),
        }
