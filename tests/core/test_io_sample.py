"""The bundled synthetic sample clip reads back through VideoSource with matching ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmem_core.io.frames import VideoSource, open_frames
from xmem_core.io.masks import read_mask

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"


@pytest.mark.skipif(not (SAMPLE / "sample.mp4").is_file(), reason="sample clip not generated")
def test_sample_clip_consistent() -> None:
    src = open_frames(SAMPLE / "sample.mp4")
    assert isinstance(src, VideoSource)
    gt = sorted((SAMPLE / "gt").glob("*.png"))
    assert len(src) == len(gt) == 90
    assert [p.stem for p in gt] == src.names
    assert src.size == (360, 640)
    first = read_mask(SAMPLE / "first_mask.png", size=src.size)
    np.testing.assert_array_equal(first, read_mask(gt[0]))
    assert set(np.unique(first)) == {0, 1, 2, 3}
    assert src[89].shape == (360, 640, 3)
    assert (SAMPLE / "sample.mp4").stat().st_size < 2 * 2**20
