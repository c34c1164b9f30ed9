"""The shipped default weights (resources/weights/xmem-lite.pth) are trained: a davis16-dev clip propagates well.

Runs `main.py propagate` with NO --model (so the app/CLI default-weights path and loader are exercised) on the first
CLIP_FRAMES frames of one davis16-dev clip at a reduced size, and scores J&F with the DAVIS metric (all frames but
the first). The threshold sits well below the measured figure (see resources/weights/MODEL_CARD.md), so an
untrained/placeholder file, a broken loader or a large regression fails while CPU-thread noise cannot.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import main
from xmem_core.config import ModelConfig
from xmem_core.metrics.davis import evaluate_clip
from xmem_core.model.checkpoint import FORMAT, load_model, read_file
from xmem_core.resources import default_weights

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "davis16-dev"
CLIP = "car-shadow"
CLIP_FRAMES = 20
SIZE = 240
# Measured with the shipped file at exactly this setting (car-shadow, first 20 frames, 240 px):
# J&F 0.915 (J 0.925, F 0.906). The previously shipped CPU-trained file scored 0.753, its first run's weights 0.806,
# the static-only weights 0.287 and the untrained placeholder 0.072, so shipping any of those again fails.
MIN_JF = 0.85


def test_shipped_weights_file_is_fp16_xmem_lite() -> None:
    path = default_weights()
    assert path.name == "xmem-lite.pth" and path.is_file()
    assert path.stat().st_size < 40 * 2**20
    obj = read_file(path)
    assert obj["format"] == FORMAT
    assert ModelConfig.from_dict(obj["model_config"]).with_(single_object=False) == ModelConfig.xmem_lite()
    floats = [v for v in obj["state_dict"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    assert obj["meta"].get("stage") == "main"  # the final stage of the training run, not the placeholder
    net = load_model(path)
    assert all(p.dtype == torch.float32 for p in net.parameters())


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.skipif(not (DEV / "JPEGImages" / CLIP).is_dir(), reason="../shared/data/davis16-dev is absent")
def test_shipped_weights_segment_a_davis16_dev_clip(tmp_path: Path) -> None:
    frames, gt, out = tmp_path / "frames", tmp_path / "gt", tmp_path / "pred"
    frames.mkdir()
    gt.mkdir()
    images = sorted((DEV / "JPEGImages" / CLIP).glob("*.jpg"))[:CLIP_FRAMES]
    for img in images:
        (frames / img.name).symlink_to(img)
        (gt / f"{img.stem}.png").symlink_to(DEV / "Annotations" / CLIP / f"{img.stem}.png")
    code = main.main(["propagate", str(frames), "--mask", str(gt / f"{images[0].stem}.png"), "--out", str(out),
                      "--size", str(SIZE), "--device", "cpu", "--threads", "2", "--quiet"])
    assert code == 0
    score = evaluate_clip(out, gt)
    assert score.frames == CLIP_FRAMES - 1
    assert score.JF > MIN_JF, f"{CLIP} J&F {score.JF:.3f} (J {score.J:.3f}, F {score.F:.3f}) <= {MIN_JF}"
