"""Per-clip adaptation (training/adapt.py) and the session's weight swap, on a tiny network and a synthetic clip."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.core.test_inference import ArraySource
from tests.core.tiny import moving_square_clip, tiny_model, tiny_weights
from training.adapt import (
    AdaptConfig,
    Keyframe,
    adapt_network,
    adapt_session,
    keyframe_loss,
    save_adapted,
    session_keyframes,
)
from xmem_core.inference.core import EngineError
from xmem_core.inference.session import VideoSession
from xmem_core.model.checkpoint import load_model

H, W = 48, 64
CFG = AdaptConfig(budget_s=60, max_steps=40, lr=1e-3, params="all", size=H, crop=48, batch_size=2, num_frames=3)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Training steps with two OpenMP threads on a loaded 2-core machine ran 30x slower than with one."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def clip() -> tuple[list[np.ndarray], list[np.ndarray]]:
    return moving_square_clip(n=10, h=H, w=W, seed=3)


def _session(net, frames: list[np.ndarray], masks: list[np.ndarray]) -> VideoSession:
    s = VideoSession(net, ArraySource(frames), size=H, optimize=False)
    s.set_mask(0, masks[0])
    return s


def _mean_iou(session: VideoSession, masks: list[np.ndarray]) -> float:
    session.reset_memory()
    ious = []
    for res in session.propagate(0):
        if res.frame == 0:
            continue
        p, g = res.mask == 1, masks[res.frame] == 1
        ious.append((p & g).sum() / max((p | g).sum(), 1))
    return float(np.mean(ious))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def adapted(clip):
    frames, masks = clip
    base = tiny_model(seed=1)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    result = adapt_network(base, [Keyframe(0, frames[0], masks[0])], CFG)
    return base, before, result


def test_adaptation_lowers_keyframe_loss_and_raises_iou(clip, adapted) -> None:
    frames, masks = clip
    base, _, result = adapted
    kf = [Keyframe(0, frames[0], masks[0])]
    assert result.net is not None and result.steps == CFG.max_steps
    assert keyframe_loss(result.net, kf, CFG) < 0.7 * keyframe_loss(base, kf, CFG)
    iou_base = _mean_iou(_session(base, frames, masks), masks)
    iou_adapted = _mean_iou(_session(result.net, frames, masks), masks)
    assert iou_adapted > iou_base + 0.1
    assert iou_adapted > 0.5


def test_base_network_is_not_modified(adapted) -> None:
    base, before, result = adapted
    for k, v in base.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(not p.requires_grad for p in result.net.parameters())


def test_decoder_value_leaves_the_key_encoder(clip) -> None:
    frames, masks = clip
    base = tiny_model(seed=1)
    cfg = AdaptConfig(budget_s=60, max_steps=2, lr=1e-3, size=H, crop=48, params="decoder+value")
    net = adapt_network(base, [Keyframe(0, frames[0], masks[0])], cfg).net
    b, a = base.state_dict(), net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in b if k.startswith(("key_encoder.", "key_proj.")))
    assert any(not torch.equal(a[k], b[k]) for k in b if k.startswith("decoder."))
    assert any(not torch.equal(a[k], b[k]) for k in b if k.startswith("value_encoder."))


def test_budget_is_honoured(clip) -> None:
    frames, masks = clip
    cfg = AdaptConfig(budget_s=1.5, lr=1e-3, size=H, crop=48)
    result = adapt_network(tiny_model(), [Keyframe(0, frames[0], masks[0])], cfg)
    assert result.steps >= 2
    assert result.seconds <= cfg.budget_s * 1.05


def test_session_adapt_resets_memory_logs_it_and_undoes(tmp_path: Path, clip) -> None:
    frames, masks = clip
    path = tiny_weights(tmp_path / "tiny.pth", seed=1)
    digest = _sha(path)
    session = _session(load_model(path), frames, masks)
    base = [r.prob for r in session.propagate(0, with_prob=True)]
    result = adapt_session(session, cfg=replace(CFG, max_steps=5))
    assert _sha(path) == digest  # the file on disk is never written
    assert session.adapted_network is result.net
    first = next(session.propagate(0))
    adapt_events = [e for e in first.stats.events if e.kind == "adapt"]
    assert adapt_events and adapt_events[0].detail["keyframes"] == [0]
    assert first.stats.working_frames == 1  # memory was reset: only frame 0 is in it
    session.reset_memory()
    adapted = [r.prob for r in session.propagate(0, with_prob=True)]
    assert not torch.allclose(adapted[-1], base[-1], atol=1e-4)  # the adapted weights are in use
    previous = session.set_network(None)  # undo: back to the base weights
    assert previous is result.net and session.adapted_network is None
    session.reset_memory()
    again = [r.prob for r in session.propagate(0, with_prob=True)]
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(again, base, strict=True))
    out = save_adapted(result.net, tmp_path / "project" / "adapted.pth")
    loaded = load_model(out)
    assert all(torch.equal(v, result.net.state_dict()[k]) for k, v in loaded.state_dict().items())
    assert _sha(path) == digest


def test_cancel_keeps_previous_weights(clip) -> None:
    frames, masks = clip
    session = _session(tiny_model(seed=1), frames, masks)
    ready = session.core.net
    cancel = threading.Event()
    steps = []

    def progress(p) -> None:  # noqa: ANN001
        steps.append(p.step)
        if p.step == 2:
            cancel.set()

    result = adapt_session(session, cfg=CFG, cancel=cancel, progress=progress)
    assert result.cancelled and result.net is None and steps == [1, 2]
    assert session.adapted_network is None and session.core.net is ready


def test_session_keyframes_and_errors(clip) -> None:
    frames, masks = clip
    session = _session(tiny_model(), frames, masks)
    session.set_mask(5, masks[5])
    kfs = session_keyframes(session)
    assert [k.frame for k in kfs] == [0, 5] and np.array_equal(kfs[1].mask, masks[5])
    with pytest.raises(ValueError, match="mark no object"):
        adapt_network(tiny_model(), [Keyframe(0, frames[0], np.zeros_like(masks[0]))], CFG)
    with pytest.raises(ValueError, match="params"):
        adapt_network(tiny_model(), kfs, AdaptConfig(params="encoder"))
    handed_over = VideoSession(tiny_model(), ArraySource(frames), size=H, copy_model=False)
    with pytest.raises(EngineError, match="copy_model"):
        _ = handed_over.base_network
