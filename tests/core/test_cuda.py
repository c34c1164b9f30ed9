"""CUDA-only checks of the GPU path (skipped without CUDA; `pytest -m cuda`, also run by benchmarks/gpu_check.py).

Written without a GPU at hand (issue 19): they state what the GPU path must do, and were first run by gpu_check.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.core.test_inference import ArraySource
from tests.core.tiny import moving_square_clip, tiny_model
from xmem_core.config import MemoryConfig
from xmem_core.inference.preprocess import make_geometry, prepare_image, source_index
from xmem_core.inference.session import VideoSession
from xmem_core.inference.stages import GraphRunner
from xmem_core.inference.transfer import HostMask, Upload

pytestmark = pytest.mark.cuda
CUDA = torch.device("cuda")


def _session(n: int = 30, size: int = 64, config: MemoryConfig | None = None,
             **kw) -> tuple[VideoSession, list[np.ndarray]]:
    frames, masks = moving_square_clip(n, h=96, w=128)
    session = VideoSession(tiny_model(), ArraySource(frames), config or MemoryConfig(), size=size, device=CUDA, **kw)
    session.set_mask(0, masks[0])
    return session, masks


def test_graphs_capture_and_match_the_eager_cuda_path() -> None:
    eager, _ = _session(precision="fp32", graphs=False)
    graphed, _ = _session(precision="fp32", graphs=True)
    a = [r.mask.copy() for r in eager.propagate(0)]
    b = [r.mask.copy() for r in graphed.propagate(0)]
    stats = graphed.core.runner.stats
    assert isinstance(graphed.core.runner, GraphRunner)
    assert stats.captures >= 3 and stats.failures == 0 and stats.replays > stats.captures, stats
    agree = np.mean([(x == y).mean() for x, y in zip(a, b, strict=True)])
    assert agree > 0.999


def test_no_host_synchronisation_per_frame() -> None:
    """Once every stage variant is captured, propagating frames makes no synchronising CUDA call (T_max large:
    no consolidation, an event that may synchronise, falls in the checked frames)."""
    session, _ = _session(n=80, precision="fp16", config=MemoryConfig(T_min=5, T_max=40, LT_max=1000))
    gen = session.propagate(0)
    pending = [next(gen) for _ in range(50)]  # warm-up and captures (capture itself synchronises)
    captures = session.core.runner.stats.captures
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        pending += [next(gen) for _ in range(20)]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert session.core.runner.stats.captures == captures
    assert all(r.mask.shape == (96, 128) for r in pending)


def test_host_mask_and_upload() -> None:
    index = torch.randint(0, 3, (50, 70), dtype=torch.uint8, device=CUDA)
    host = HostMask.copy_of(index)
    assert np.array_equal(host.result(), index.cpu().numpy())
    frame = np.random.default_rng(0).integers(0, 255, (50, 70, 3), dtype=np.uint8)
    geo = make_geometry((50, 70), 32)
    up = Upload(CUDA, geo)
    image = up.receive(up.prepare(frame))
    torch.testing.assert_close(image.cpu(), prepare_image(frame, geo), rtol=1e-5, atol=1e-5)


def test_banded_output_on_cuda_matches_the_cpu() -> None:
    geo = make_geometry((2160, 3840), 480)
    prob = torch.softmax(4 * torch.randn(4, *geo.padded, generator=torch.Generator().manual_seed(0)), 0)
    cpu = source_index(prob, [1, 2, 3], geo)
    gpu = source_index(prob.to(CUDA), [1, 2, 3], geo).cpu()
    assert (cpu != gpu).float().mean() < 1e-4


def test_4k_peak_cuda_memory_under_4_gb() -> None:
    """The shipped model on 3840×2160 frames at the default 480 px: full-resolution masks, peak < 4 GB."""
    from xmem_core.model.checkpoint import load_model
    from xmem_core.resources import default_weights

    h, w = 2160, 3840
    frames = [np.full((h, w, 3), 60 + 10 * t, np.uint8) for t in range(12)]
    mask = np.zeros((h, w), np.uint8)
    mask[500:1500, 1000:2000] = 1
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    session = VideoSession(load_model(default_weights()), ArraySource(frames), MemoryConfig(), device=CUDA,
                           copy_model=False)
    session.set_mask(0, mask)
    masks = [r.mask.copy() for r in session.propagate(0)]
    assert all(m.shape == (h, w) for m in masks)
    assert torch.cuda.max_memory_allocated() < 4 * 2**30
