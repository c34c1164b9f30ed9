"""InferenceCore and VideoSession with a tiny random-weight model on synthetic clips."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from tests.core.tiny import moving_square_clip, tiny_model
from xmem_core.config import MemoryConfig
from xmem_core.inference.core import EngineError, InferenceCore
from xmem_core.inference.session import VideoSession
from xmem_core.io.base import FrameSource


class ArraySource(FrameSource):
    """In-memory frame source for tests."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__("memory")
        self._frames = frames

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def size(self) -> tuple[int, int]:
        return self._frames[0].shape[:2]

    @property
    def names(self) -> list[str]:
        return [f"{i:05d}" for i in range(len(self._frames))]

    def _read(self, index: int) -> np.ndarray:
        return self._frames[index]


@pytest.fixture(scope="module")
def net():
    return tiny_model()


def _core_run(net, n: int, cfg: MemoryConfig, size: int = 32):
    core = InferenceCore(net, cfg)
    img = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, size, size)
    mask[:, 4:20, 4:20] = 1
    stats = []
    with torch.inference_mode():
        for t in range(n):
            out = core.step(img + 0.01 * (t % 7), mask if t == 0 else None, [1] if t == 0 else None, frame=t)
            stats.append(out.stats)
    return core, stats


def test_memory_sizes_follow_the_spec(net) -> None:
    _, stats = _core_run(net, 80, MemoryConfig(r=5, T_min=5, T_max=10, P=2, LT_max=100))
    consolidations = [s.frame for s in stats if s.has_event("consolidate")]
    assert consolidations[:2] == [45, 70]
    assert [s.working_frames for s in stats[:11]] == [1] * 5 + [2] * 5 + [3]
    inserts = [s.frame for s in stats if s.has_event("insert")]
    assert inserts[:4] == [0, 5, 10, 15]
    assert stats[45].working_frames == 5 and stats[45].long_term_elements == 2
    assert stats[0].sensory_objects == 1 and stats[0].has_event("deep_update")


@pytest.mark.slow
def test_long_term_bounded_over_2000_frames(net) -> None:
    cfg = MemoryConfig(r=5, T_min=2, T_max=4, P=2, LT_max=8)
    core, stats = _core_run(net, 2000, cfg, size=32)
    assert max(s.long_term_elements for s in stats) <= cfg.LT_max
    assert sum(s.has_event("evict") for s in stats) > 100
    assert stats[-1].long_term_elements >= cfg.LT_max - cfg.P


def test_first_frame_needs_a_mask(net) -> None:
    core = InferenceCore(net, MemoryConfig())
    with pytest.raises(EngineError, match="needs a mask"):
        core.step(torch.zeros(1, 3, 32, 32))


def test_objects_added_and_removed_mid_video(net) -> None:
    cfg = MemoryConfig(r=2, T_min=2, T_max=4, P=2, LT_max=8)
    core, _ = _core_run(net, 20, cfg)
    assert core.memory.long.size > 0
    img = torch.zeros(1, 3, 32, 32)
    m = torch.zeros(1, 32, 32)
    m[:, 20:28, 20:28] = 1
    with torch.inference_mode():
        out = core.step(img, m, [7], valid_ids=[7], frame=20)
        assert out.object_ids == [1, 7] and out.prob.shape == (3, 32, 32)
        for t in range(21, 60):
            out = core.step(img, frame=t)
            assert torch.isfinite(out.prob).all()
        assert out.stats.long_term_elements <= cfg.LT_max
        core.remove_objects([1])
        out = core.step(img, frame=60)
    assert out.object_ids == [7] and out.prob.shape == (2, 32, 32)
    assert out.stats.sensory_objects == 1


def _session(net, n: int = 12, **kw) -> tuple[VideoSession, list[np.ndarray]]:
    frames, masks = moving_square_clip(n)
    return VideoSession(net, ArraySource(frames), MemoryConfig(r=2), size=-1, **kw), masks


def test_session_forward_stops_before_next_keyframe(net) -> None:
    session, masks = _session(net)
    session.set_mask(0, masks[0])
    session.set_mask(6, masks[6])
    results = list(session.propagate(0, 1))
    assert [r.frame for r in results] == list(range(6))
    assert results[0].is_keyframe and np.array_equal(results[0].mask, masks[0])
    assert all(r.mask.shape == masks[0].shape and r.mask.dtype == np.uint8 for r in results)


def test_session_keyframes_are_fed_not_overwritten(net) -> None:
    session, masks = _session(net)
    session.set_mask(0, masks[0])
    edited = masks[6].copy()
    edited[0:4, 0:4] = 1
    session.set_mask(6, edited)
    results = {r.frame: r for r in session.propagate(0, 1, stop_at_keyframe=False)}
    assert len(results) == 12
    assert results[6].is_keyframe and np.array_equal(results[6].mask, edited)
    assert results[6].stats.has_event("insert")  # the correction entered memory


def test_session_backward_and_stop(net) -> None:
    session, masks = _session(net)
    session.set_mask(8, masks[8])
    frames = [r.frame for r in session.propagate(8, -1, stop=3)]
    assert frames == [8, 7, 6, 5, 4, 3]


def test_session_cancel_between_frames(net) -> None:
    session, masks = _session(net)
    session.set_mask(0, masks[0])
    seen = []
    for r in session.propagate(0, 1):
        seen.append(r.frame)
        if r.frame == 2:
            session.cancel()
    assert seen == [0, 1, 2]


def test_session_cancel_within_a_frame(net, monkeypatch: pytest.MonkeyPatch) -> None:
    """cancel() during frame 3's decoder stops that frame before its memory stage, with its state rolled back."""
    session, masks = _session(net)
    session.set_mask(0, masks[0])
    core = session.core
    segment = type(core.net).segment
    calls = []

    def cancelling_segment(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(core.curr_ti)
        out = segment(self, *args, **kwargs)
        if len(calls) == 3:
            session.cancel()
        return out

    monkeypatch.setattr(type(core.net), "segment", cancelling_segment)
    seen = []
    for r in session.propagate(0, 1):
        seen.append(r.frame)
        after = (core.curr_ti, core.memory.working_frames, core.sensory.hidden)
    assert seen == [0, 1, 2] and len(calls) == 3
    assert (core.curr_ti, core.memory.working_frames) == after[:2] and core.sensory.hidden is after[2]
    monkeypatch.setattr(type(core.net), "segment", segment)
    assert [r.frame for r in session.propagate(2, 1, stop=5, start_mask=masks[2])] == [2, 3, 4, 5]


def test_frames_prepared_ahead_or_here_give_the_same_masks(net, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU frames are decoded in the prefetch thread and prepared in the propagating one (prepare_ahead
    False); prepare_ahead=True (the CUDA default) prepares them in the prefetch thread too. Same results."""
    threads: dict[bool, set[str]] = {False: set(), True: set()}
    results = {}
    for ahead in (False, True):
        session, masks = _session(net, precision="fp32", prepare_ahead=ahead)
        assert session.prepare_ahead is ahead
        prepare = session._prepare

        def spy(frame, ahead=ahead, prepare=prepare):
            threads[ahead].add(threading.current_thread().name)
            return prepare(frame)

        monkeypatch.setattr(session, "_prepare", spy)
        session.set_mask(0, masks[0])
        results[ahead] = list(session.propagate(0, 1, with_prob=True))
    assert threads == {False: {threading.current_thread().name}, True: {"frame-prefetch"}}
    for a, b in zip(results[False], results[True], strict=True):
        assert np.array_equal(a.mask, b.mask) and torch.equal(a.prob, b.prob)
    assert not _session(net)[0].prepare_ahead  # the CPU default


def test_session_errors(net) -> None:
    session, masks = _session(net)
    with pytest.raises(EngineError, match="no mask"):
        next(session.propagate(3, 1))
    with pytest.raises(EngineError, match="mask is"):
        session.set_mask(0, np.zeros((10, 10), np.uint8))
    with pytest.raises(EngineError, match="outside the clip"):
        session.set_mask(99, masks[0])
    session.set_mask(0, np.zeros_like(masks[0]))
    with pytest.raises(EngineError, match="empty"):
        next(session.propagate(0, 1))


def test_session_resizes_and_restores_source_resolution(net) -> None:
    frames, masks = moving_square_clip(6, h=50, w=70)
    session = VideoSession(net, ArraySource(frames), MemoryConfig(), size=32)
    assert session.geometry.padded == (32, 48)
    session.set_mask(0, masks[0] * 4)
    out = list(session.propagate(0, 1, with_prob=True))
    assert out[-1].mask.shape == (50, 70)
    assert set(np.unique(out[-1].mask)) <= {0, 4}
    assert out[-1].prob.shape == (2, 50, 70)
    torch.testing.assert_close(out[-1].prob.sum(0), torch.ones(50, 70), rtol=1e-4, atol=1e-4)


def test_importing_xmem_core_does_not_import_qt() -> None:
    code = (
        "import sys, xmem_core, xmem_core.inference.session, xmem_core.cli.propagate, xmem_core.model.checkpoint;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'app'))];"
        "print(bad); sys.exit(bool(bad))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("precision", ["bf16", "mixed"])
def test_low_precision_paths_run_and_agree_with_fp32(net, precision: str) -> None:
    masks = {}
    for p in ("fp32", precision):
        session, gt = _session(net, precision=p)
        session.set_mask(0, gt[0])
        masks[p] = [r.mask for r in session.propagate(0, 1)]
    assert len(masks[precision]) == 12
    agree = np.mean([np.mean(a == b) for a, b in zip(masks["fp32"], masks[precision], strict=True)])
    assert agree > 0.9  # random tiny weights: near-ties flip a few pixels; trained weights: see benchmarks


def test_auto_precision_is_mixed_only_on_cpus_with_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    import xmem_core.inference.core as core

    cpu = torch.device("cpu")
    for native, expected in ((True, "mixed"), (False, "fp32")):
        monkeypatch.setattr(core, "cpu_has_native_bf16", lambda native=native: native)
        assert core.resolve_precision("auto", cpu) == expected
        assert core.resolve_precision("bf16", cpu) == "bf16"
    assert core.resolve_precision("auto", torch.device("cuda")) == "fp16"


def test_mixed_precision_keeps_the_key_encoder_and_value_trunk_in_fp32(net) -> None:
    """'mixed': fp32 key encoder, key projection and value trunk (memory keys come out fp32); bf16 decoder and
    value fusion (values and logits come out bf16), the deep-update cell's state fp32."""
    core = InferenceCore(net, MemoryConfig(), precision="mixed")
    values = core.net.value_encoder
    for part in (core.net.decoder, values.fuser, values.hidden_reinforce):
        assert {p.dtype for p in part.parameters()} == {torch.bfloat16}
    for part in (core.net.key_encoder, core.net.key_proj, values._trunk):
        assert {p.dtype for p in part.parameters()} == {torch.float32}
    seen: dict[str, torch.dtype] = {}

    def record(name: str):
        def hook(_module, _inputs, out) -> None:
            seen[name] = (out[0] if isinstance(out, tuple) else out).dtype
        return hook

    core.net.key_proj.register_forward_hook(record("key"))
    values._trunk.register_forward_hook(record("value trunk"))
    values.fuser.register_forward_hook(record("value"))
    values.hidden_reinforce.register_forward_hook(record("hidden"))
    core.net.decoder.pred.register_forward_hook(record("logits"))
    image = torch.randn(1, 3, 32, 48)
    core.step(image, torch.ones(1, 32, 48), mask_ids=[1])
    core.step(image)
    assert seen == {"key": torch.float32, "value trunk": torch.float32, "value": torch.bfloat16,
                    "hidden": torch.float32, "logits": torch.bfloat16}
    assert {p.dtype for p in net.parameters()} == {torch.float32}  # the caller's network is untouched


def test_unoptimised_path_matches_optimised(net) -> None:
    results = {}
    for optimize in (False, True):
        session, gt = _session(net, optimize=optimize, precision="fp32")
        session.set_mask(0, gt[0])
        results[optimize] = [r for r in session.propagate(0, 1, with_prob=True)]
    for a, b in zip(results[False], results[True], strict=True):
        torch.testing.assert_close(a.prob, b.prob, rtol=1e-3, atol=1e-4)


def test_cuda_preparation_on_cpu(net) -> None:
    """The CUDA path's model preparation (fp16 weights, folded BN, channels-last) is checked without a GPU."""
    from xmem_core.model.optimize import FoldedBatchNorm, prepare_for_inference

    fast = prepare_for_inference(net, "fp16")
    assert all(p.dtype == torch.float16 for p in fast.parameters())
    assert sum(isinstance(m, FoldedBatchNorm) for m in fast.modules()) > 10
    assert all(p.dtype == torch.float32 for p in net.parameters())  # the caller's model is untouched
    with pytest.raises(EngineError, match="CUDA"):
        InferenceCore(net, MemoryConfig(), precision="fp16")


def test_prob_to_index_equals_argmax() -> None:
    from xmem_core.inference.preprocess import prob_to_index

    prob = torch.rand(4, 9, 11, generator=torch.Generator().manual_seed(0))
    prob[:, 0, 0] = 0.5  # a tie: the first maximum (background) wins, as with argmax
    lut = torch.tensor([0, 3, 7, 9], dtype=torch.uint8)
    assert np.array_equal(prob_to_index(prob, [3, 7, 9]), lut[prob.argmax(0)].numpy())
