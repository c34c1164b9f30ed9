"""Output stage: source-resolution index masks in bounded memory (row bands), host masks, and a 4K clip."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from tests.core.test_inference import ArraySource
from tests.core.tiny import tiny_model
from xmem_core.config import MemoryConfig
from xmem_core.inference.preprocess import make_geometry, prob_index, prob_to_index, source_index, to_source
from xmem_core.inference.session import VideoSession
from xmem_core.inference.transfer import HostMask


def _probs(channels: int, hw: tuple[int, int], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(4 * torch.randn(channels, *hw, generator=g), 0)


def test_banded_upsampling_matches_interpolate() -> None:
    geo = make_geometry((270, 481), 64)  # odd sizes, padding on both axes
    prob = _probs(4, geo.padded)
    full = to_source(prob, geo)
    exact = source_index(prob, [3, 7, 9], geo)  # small enough: the exact path
    assert torch.equal(exact, prob_index(full, [3, 7, 9]))
    banded = source_index(prob, [3, 7, 9], geo, max_elements=4 * 481 * 7)  # bands of 7 rows
    assert banded.shape == (270, 481) and banded.dtype == torch.uint8
    assert (banded != exact).float().mean() < 1e-4  # only exact ties may differ (last-bit rounding)


def test_banded_values_are_bilinear() -> None:
    """The band arithmetic reproduces F.interpolate's sampling (align_corners=False) to rounding."""
    geo = make_geometry((90, 160), 32)
    prob = _probs(2, geo.padded, seed=1)
    ref = F.interpolate(prob[None, :, :, :].narrow(2, geo.pad[2], geo.resized[0]).narrow(3, geo.pad[0],
                        geo.resized[1]), size=(90, 160), mode="bilinear", align_corners=False)[0]
    # with two channels summing to one, channel 1 wins exactly where its upsampled value exceeds 0.5
    banded = source_index(prob, [1], geo, max_elements=2 * 160 * 3)
    decided = (ref[1] - ref[0]).abs() > 1e-5
    assert torch.equal(banded.bool()[decided], (ref[1] > ref[0])[decided])


def test_host_mask_on_cpu_is_the_array() -> None:
    index = torch.tensor([[0, 1], [2, 0]], dtype=torch.uint8)
    m = HostMask.copy_of(index)
    assert m.done() and np.array_equal(m.result(), index.numpy()) and m.result() is m.result()
    assert np.array_equal(prob_to_index(_probs(3, (5, 6)), [1, 2]), prob_index(_probs(3, (5, 6)), [1, 2]).numpy())


class _LargestTensor(TorchDispatchMode):
    """Records the largest tensor (bytes) any aten op returns while active (this thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel() * t.element_size())
        return out


def test_4k_clip_propagates_at_full_resolution_in_bounded_memory() -> None:
    """3840×2160 frames, processed at a 64 px short side: full-resolution masks, and no tensor (the per-frame
    image, probabilities, bands) beyond the band budget or the H×W uint8 mask itself; the unbanded output stage
    would hold (N+1)×H×W fp32 probabilities twice (133 MB each for 3 objects)."""
    h, w, n = 2160, 3840, 2
    base = np.random.default_rng(0).integers(0, 120, (h // 8, w // 8, 3), dtype=np.uint8)
    frames = []
    for t in range(n):
        f = base.copy()
        f[60:180, 100 + 10 * t: 220 + 10 * t] = (230, 60, 40)
        f[100:200, 300:380] = (40, 200, 60)
        frames.append(np.repeat(np.repeat(f, 8, 0), 8, 1))
    mask = np.zeros((h, w), np.uint8)
    mask[480:1440, 800:1760] = 1
    mask[800:1600, 2400:3040] = 2
    mask[100:300, 100:300] = 3
    session = VideoSession(tiny_model(), ArraySource(frames), MemoryConfig(), size=64, precision="fp32")
    session.output_tile_elements = 2**22  # 16 MB bands
    session.set_mask(0, mask)
    gen = session.propagate(0, 1)
    first = next(gen)  # the keyframe (the user's mask, returned as given)
    with _LargestTensor() as spy:
        rest = list(gen)
    assert first.mask.shape == (h, w) and all(r.mask.shape == (h, w) for r in rest) and len(rest) == n - 1
    assert set(np.unique(rest[-1].mask)) <= {0, 1, 2, 3} and (rest[-1].mask == 1).mean() > 0.05
    assert spy.largest <= max(4 * session.output_tile_elements, h * w), spy.largest
    assert spy.largest < 4 * 4 * h * w  # well below one full-resolution fp32 probability map of 4 channels
