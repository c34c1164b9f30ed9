"""Loaders with worker processes: the batches equal those loaded in the main process, whatever the start method."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.config import DataSource, StageConfig, TrainConfig
from training.data.build import build_dataset, build_loader


def _batches(root: Path, workers: int, start_method: str) -> list[dict]:
    """The stage's batches, loaded by `workers` processes started by `start_method` (0: in this process)."""
    stage = StageConfig(name="static", data=[DataSource(str(root / "ecssd"))], iterations=3, batch_size=2, size=32,
                        num_frames=2, max_objects=1, single_object=True, skip_values=[1], skip_milestones=[])
    cfg = TrainConfig(model="xmem-lite", stages=[stage], num_workers=workers, worker_start=start_method,
                      prefetch_factor=2, cache_mb=0)
    loader, _ = build_loader(build_dataset(stage, cfg), stage, cfg, stage_index=0, start=0)
    if workers:
        assert loader.multiprocessing_context.get_start_method() == start_method
    return list(loader)


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_worker_batches_match_main_process(data_root: Path, start_method: str) -> None:
    expected = _batches(data_root, 0, start_method)
    got = _batches(data_root, 2, start_method)
    assert len(got) == len(expected) == 3
    for a, b in zip(got, expected, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
