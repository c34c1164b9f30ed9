"""Datasets and DataLoaders for a stage: worker processes, pinned memory, seeded per-iteration samples."""

from __future__ import annotations

import multiprocessing

import cv2
import torch
from torch.utils.data import DataLoader, Dataset

from training.config import StageConfig, TrainConfig
from training.data.sampling import IterationSampler, SkipCurriculum
from training.data.static import StaticImageDataset, find_pairs
from training.data.video import VideoAugment, VideoDataset, find_clips


def is_static(stage: StageConfig) -> bool:
    kinds = {d.kind for d in stage.data}
    if not kinds - {"paste"}:
        raise ValueError(f"stage {stage.name!r} has no static or video data sources")
    if "static" in kinds and len(kinds) > 1:
        raise ValueError(f"stage {stage.name!r} mixes static sources with video or paste sources")
    return kinds == {"static"}


def build_dataset(stage: StageConfig, cfg: TrainConfig) -> Dataset:
    """The stage's dataset: all sources concatenated, each listed `repeat` times ("paste" sources: donors only)."""
    cache = cfg.cache_mb * 2**20
    if is_static(stage):
        pairs = []
        for src in stage.data:
            pairs += find_pairs(src.path, src.layout, src.every) * src.repeat
        return StaticImageDataset(pairs, stage.size, stage.num_frames, stage.max_objects, None, stage.max_short, cache)
    clips, repeats, paste_images = [], [], []
    for src in stage.data:
        if src.kind == "paste":
            paste_images += find_pairs(src.path, src.layout, src.every) * src.repeat
            continue
        found = find_clips(src.path, 5 if src.kind == "youtube" else 1, src.paste, src.subset, stage.num_frames)
        clips += found
        repeats += [src.repeat] * len(found)
    aug = VideoAugment(crop_scale=tuple(stage.crop_scale), paste_prob=stage.paste_prob,
                       paste_image_prob=stage.paste_image_prob)
    return VideoDataset(clips, stage.size, stage.num_frames, stage.max_objects, aug, repeats, stage.max_short, cache,
                        paste_images)


def curriculum(stage: StageConfig) -> SkipCurriculum:
    return SkipCurriculum(stage.iterations, tuple(stage.skip_values), tuple(stage.skip_milestones))


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def build_loader(
    dataset: Dataset, stage: StageConfig, cfg: TrainConfig, stage_index: int, start: int,
    rank: int = 0, world: int = 1, pin: bool = False, end: int | None = None,
) -> tuple[DataLoader, IterationSampler]:
    """Loader yielding one batch per iteration for iterations [start, end) of the stage (end: the stage's total).

    Worker processes start by `cfg.worker_start` (checked by `config.validate`): forkserver by default, since a
    worker forked from a process whose OpenMP threads have run (after an evaluation, say) can deadlock on a lock
    held by a thread that was not copied. They start when the loader is first iterated (the trainer does that
    before building the network, so both happen at once) and, with `persistent_workers`, live as long as the
    loader. The loader's own generator seeds the workers, so starting it early leaves the global RNG alone.
    """
    local_batch = max(1, stage.batch_size // world)
    sampler = IterationSampler(len(dataset), local_batch, cfg.seed, start,
                               stage.total_iterations if end is None else end, curriculum(stage), stage_index, rank,
                               world)
    workers = cfg.num_workers
    if workers and cfg.worker_start == "forkserver":
        # the fork server imports torch, OpenCV and the datasets once; each worker then forks ready, instead of
        # importing them itself (first batch 10-12 s -> 6 s with 2 workers on our 2 loaded cores)
        multiprocessing.get_context("forkserver").set_forkserver_preload([__name__])
    loader = DataLoader(
        dataset, batch_size=local_batch, sampler=sampler, drop_last=True, num_workers=workers,
        pin_memory=pin, worker_init_fn=_worker_init if workers else None,
        prefetch_factor=cfg.prefetch_factor if workers else None,
        persistent_workers=bool(workers) and cfg.persistent_workers,
        multiprocessing_context=cfg.worker_start if workers else None,
        generator=torch.Generator().manual_seed(cfg.seed + 1000 * stage_index + rank),
    )
    return loader, sampler
