"""Datasets on generated folders: layouts, shapes, ranges, label/frame alignment, ids, determinism, sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.training.conftest import colour_of, interior
from training.config import DataSource, StageConfig, TrainConfig
from training.data.build import build_dataset
from training.data.sampling import IterationSampler, SampleKey, SkipCurriculum
from training.data.static import StaticImageDataset, find_pairs
from training.data.video import VideoAugment, VideoDataset, find_clips, sample_frame_indices


def test_find_pairs_layouts(data_root: Path) -> None:
    assert len(find_pairs(data_root / "ecssd")) == 4  # split layout (images/ + masks/)
    assert len(find_pairs(data_root / "fss")) == 2  # flat layout (class/NAME.jpg + NAME.png)
    assert len(find_pairs(data_root / "davis", every=4)) == 6  # davis layout, every 4th frame of 3 clips
    with pytest.raises(FileNotFoundError):
        find_pairs(data_root / "missing")


def _check_common(item: dict, t: int, n: int, s: int) -> None:
    assert item["rgb"].shape == (t, 3, s, s) and item["rgb"].dtype == torch.uint8
    assert item["cls_gt"].shape == (t, 1, s, s) and item["cls_gt"].dtype == torch.uint8
    assert item["first_frame_gt"].shape == (1, n, s, s) and item["first_frame_gt"].dtype == torch.float32
    assert item["selector"].shape == (n,)
    k = item["num_objects"]
    assert 1 <= k <= n and item["selector"].sum() == (item["cls_gt"][0].unique() > 0).sum().clamp(min=0)
    for j in range(n):  # first_frame_gt is the one-hot of frame 0
        torch.testing.assert_close(item["first_frame_gt"][0, j], (item["cls_gt"][0, 0] == j + 1).float())


def test_static_dataset(data_root: Path) -> None:
    pairs = find_pairs(data_root / "ecssd") + find_pairs(data_root / "fss")
    ds = StaticImageDataset(pairs, size=48, num_frames=3)
    for i in range(len(ds)):
        item = ds[SampleKey(i, seed=100 + i)]
        _check_common(item, 3, 1, 48)
        assert set(item["cls_gt"].unique().tolist()) <= {0, 1} and item["num_objects"] == 1
        rgb, gt = item["rgb"].numpy(), item["cls_gt"].numpy()[:, 0]
        for f in range(3):  # object pixels stay red, background pixels stay blue
            fg, bg = interior(gt[f] == 1), interior(gt[f] == 0)
            if fg.sum() > 10:
                c = colour_of(rgb[f], fg)
                assert c[0] > c[2] + 60, c
            c = colour_of(rgb[f], bg)
            assert c[0] < c[2], c
    a, b = ds[SampleKey(1, 7)], ds[SampleKey(1, 7)]
    assert all(torch.equal(a[k], b[k]) for k in ("rgb", "cls_gt"))  # the key fully determines the sample


def test_static_dataset_slots(data_root: Path) -> None:
    ds = StaticImageDataset(find_pairs(data_root / "ecssd"), size=32, num_frames=2, num_slots=3)
    item = ds[0]
    _check_common(item, 2, 3, 32)
    assert item["selector"].tolist() == [1, 0, 0]


def test_frame_sampling() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        length, t, jump = int(rng.integers(8, 40)), int(rng.integers(2, 8)), int(rng.integers(1, 6))
        idx = sample_frame_indices(rng, length, t, jump)
        assert len(set(idx)) == t and min(idx) >= 0 and max(idx) < length
        assert idx == sorted(idx) or idx == sorted(idx, reverse=True)
        s = sorted(idx)
        assert all(b - a <= jump for a, b in zip(s, s[1:], strict=False))  # connected by jumps of <= J


def test_find_clips(data_root: Path) -> None:
    clips = find_clips(data_root / "davis")
    assert [c.name for c in clips] == ["clip0", "clip1", "clip2"] and len(clips[0].frames) == 8
    yt = find_clips(data_root / "youtube", skip_divisor=5)
    assert len(yt[0].frames) == 6 and all(f.stem == m.stem for f, m in zip(yt[0].frames, yt[0].masks, strict=True))
    subset = data_root / "subset.txt"
    subset.write_text("clip1\n")
    assert [c.name for c in find_clips(data_root / "davis", subset=subset)] == ["clip1"]


def _video_alignment(item: dict) -> None:
    """Each renumbered label has one colour through the clip (objects never swap ids or drift from the frame)."""
    rgb, gt = item["rgb"].numpy(), item["cls_gt"].numpy()[:, 0]
    colours: dict[int, np.ndarray] = {}
    for f in range(gt.shape[0]):
        for lab in np.unique(gt[f]):
            region = interior(gt[f] == lab)
            if lab == 0 or region.sum() < 6:
                continue
            c = colour_of(rgb[f], region)
            if lab in colours:
                assert np.abs(c - colours[lab]).max() < 70, (lab, c, colours[lab])
            colours[lab] = c


def test_video_dataset(data_root: Path) -> None:
    clips = find_clips(data_root / "davis")
    ds = VideoDataset(clips, size=48, num_frames=5, max_objects=3, repeats=[2, 1, 1])
    assert len(ds) == 4
    seen = set()
    for i in range(8):
        item = ds[SampleKey(i % len(ds), seed=i, max_skip=3, finetune=i % 2 == 1)]
        _check_common(item, 5, 3, 48)
        labels = set(item["cls_gt"].unique().tolist()) - {0}
        assert labels <= set(range(1, item["num_objects"] + 1))  # renumbered 1..n, others -> background
        _video_alignment(item)
        seen.add(item["num_objects"])
    assert max(seen) >= 2  # multi-object clips give multi-object samples (clip2 has 4 objects, capped at 3)
    a, b = ds[SampleKey(3, 11, 5)], ds[SampleKey(3, 11, 5)]
    assert torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["cls_gt"], b["cls_gt"])


def test_video_pasting(data_root: Path) -> None:
    clips = [c for c in find_clips(data_root / "davis", paste=True) if c.name == "clip1"]
    clips += find_clips(data_root / "davis")  # donors
    aug = VideoAugment(paste_prob=1.0, max_paste=2, paste_scale=(0.9, 1.0), paste_translate=0.0)
    ds = VideoDataset(clips, size=48, num_frames=4, max_objects=3, augment=aug, repeats=[1, 0, 0, 0])
    counts = []
    for i in range(6):
        item = ds[SampleKey(0, seed=i)]
        _check_common(item, 4, 3, 48)
        _video_alignment(item)
        counts.append(item["num_objects"])
    assert max(counts) >= 2


def test_video_pasting_of_still_images(data_root: Path) -> None:
    """ECSSD-style objects pasted onto a clip with no clip donors: extra objects appear, stay aligned with their
    colours, and move over the clip."""
    clips = [c for c in find_clips(data_root / "davis", paste=True) if c.name == "clip1"]
    aug = VideoAugment(paste_prob=1.0, max_paste=2, paste_scale=(0.9, 1.0), paste_translate=0.0,
                       paste_image_prob=1.0, image_motion=(5.0, 0.05, 0.02))
    images = find_pairs(data_root / "ecssd")
    ds = VideoDataset(clips, size=48, num_frames=4, max_objects=3, augment=aug, paste_images=images)
    counts, moved = [], False
    for i in range(6):
        item = ds[SampleKey(0, seed=i)]
        _check_common(item, 4, 3, 48)
        _video_alignment(item)
        counts.append(item["num_objects"])
        gt = item["cls_gt"][:, 0]
        for lab in range(2, item["num_objects"] + 1):
            moved |= not torch.equal(gt[0] == lab, gt[-1] == lab)
    assert max(counts) >= 2 and moved
    assert VideoDataset(clips, size=48, num_frames=4, augment=aug)[SampleKey(0, seed=0)]["num_objects"] == 1


def test_paste_sources_feed_video_stages_only(data_root: Path) -> None:
    cfg = TrainConfig(cache_mb=0)
    stage = StageConfig(size=48, num_frames=4, data=[DataSource(str(data_root / "davis"), kind="davis", paste=True),
                                                     DataSource(str(data_root / "ecssd"), kind="paste")])
    ds = build_dataset(stage, cfg)
    assert isinstance(ds, VideoDataset) and len(ds.paste_images) == 4 and len(ds) == 3
    with pytest.raises(ValueError, match="no static or video"):
        build_dataset(StageConfig(data=[DataSource(str(data_root / "ecssd"), kind="paste")]), cfg)
    with pytest.raises(ValueError, match="mixes static"):
        build_dataset(StageConfig(data=[DataSource(str(data_root / "ecssd")),
                                        DataSource(str(data_root / "ecssd"), kind="paste")]), cfg)


def test_sampler_and_curriculum() -> None:
    cur = SkipCurriculum(100, (5, 10, 15, 5), (0.1, 0.3, 0.9))
    assert [cur.at(i) for i in (0, 9, 10, 30, 89, 90, 100, 105)] == [
        (5, False), (5, False), (10, False), (15, False), (15, False), (5, False), (5, True), (5, True)]
    full = list(IterationSampler(7, 3, seed=1, start=0, end=6, curriculum=cur))
    resumed = list(IterationSampler(7, 3, seed=1, start=2, end=6, curriculum=cur))
    assert len(full) == 18 and full[6:] == resumed  # a resumed run sees the same samples
    first_epoch = [k.index for k in full[:7]]
    assert sorted(first_epoch) == list(range(7))  # epoch-wise permutation
    r0 = IterationSampler(7, 2, seed=1, start=0, end=2, rank=0, world=2).keys(0)
    r1 = IterationSampler(7, 2, seed=1, start=0, end=2, rank=1, world=2).keys(0)
    assert {k.seed for k in r0}.isdisjoint({k.seed for k in r1})
