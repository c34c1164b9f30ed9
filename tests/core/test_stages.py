"""Stage runners: the CUDA-graph bookkeeping (warm-up, capture, replay, LRU bound, failed captures, invalidation)
exercised on the CPU with a fake backend that emulates replay, and a whole session run through it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.core.test_inference import ArraySource
from tests.core.tiny import moving_square_clip, tiny_model
from xmem_core.config import MemoryConfig
from xmem_core.inference.session import VideoSession
from xmem_core.inference.stages import EagerRunner, GraphRunner, signature


class FakeBackend:
    """Emulates CUDA-graph semantics on the CPU: capture records `fn` on the static inputs; a replay recomputes
    `fn` on whatever the static inputs now hold and writes the results into the same output tensors."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.warmups = 0
        self.captured: list[str] = []
        self.replays = 0
        self.fail = fail or set()

    def warmup(self, fn, inputs):
        self.warmups += 1
        return fn(*inputs)

    def capture(self, fn, inputs):
        name = getattr(fn, "stage_name", "?")
        if name in self.fail:
            raise RuntimeError("operation not permitted when stream is capturing")
        outputs = fn(*inputs)
        self.captured.append(name)

        def replay() -> None:
            self.replays += 1
            for static, new in zip(outputs, fn(*inputs), strict=True):
                if static is not None:
                    static.copy_(new)

        return replay, outputs


def _stage(name: str):
    def fn(x, y):
        return (x * 2 + (0 if y is None else y), None)

    fn.stage_name = name
    return fn


def test_graph_runner_warms_up_captures_then_replays_with_fresh_inputs() -> None:
    backend = FakeBackend()
    runner = GraphRunner(backend, warmup=2)
    fn = _stage("a")
    outs = [runner.run("a", None, fn, (torch.full((2, 3), float(i)), None))[0] for i in range(5)]
    assert backend.warmups == 2 and backend.captured == ["a"] and backend.replays == 3
    assert runner.stats.captures == 1 and runner.stats.replays == 3  # the capture call replays too
    for i, out in enumerate(outs):  # each call sees its own input, and earlier outputs are not overwritten
        assert torch.equal(out, torch.full((2, 3), 2.0 * i))


def test_graph_runner_keys_by_variant_shape_dtype_and_layout() -> None:
    backend = FakeBackend()
    runner = GraphRunner(backend, warmup=0)
    fn = _stage("a")
    x = torch.ones(1, 3, 4, 4)
    for inputs, variant in [((x, None), 1), ((x, None), 2), ((torch.ones(1, 3, 4, 8), None), 1),
                            ((x.double(), None), 1), ((x.contiguous(memory_format=torch.channels_last), None), 1),
                            ((x, torch.ones(1)), 1), ((x, None), 1)]:
        runner.run("a", variant, fn, inputs)
    assert runner.stats.captures == 6 and runner.stats.replays == 7
    assert signature((x, None)) != signature((x.contiguous(memory_format=torch.channels_last), None))


def test_graph_runner_bounds_graphs_and_invalidates() -> None:
    runner = GraphRunner(FakeBackend(), warmup=0, max_graphs=2)
    fn = _stage("a")
    for w in (4, 8, 12, 4):
        runner.run("a", None, fn, (torch.ones(1, w), None))
    assert len(runner) == 2 and runner.stats.evictions == 2 and runner.stats.captures == 4
    runner.invalidate()
    assert len(runner) == 0
    runner.run("a", None, fn, (torch.ones(1, 4), None))
    assert runner.stats.captures == 5


def test_failed_capture_falls_back_to_eager_for_that_signature_only() -> None:
    backend = FakeBackend(fail={"bad"})
    runner = GraphRunner(backend, warmup=1)
    bad, good = _stage("bad"), _stage("good")
    x = torch.ones(2)
    for _ in range(3):
        assert torch.equal(runner.run("bad", None, bad, (x, None))[0], x * 2)
        assert torch.equal(runner.run("good", None, good, (x, None))[0], x * 2)
    assert runner.stats.failures == 1 and runner.stats.eager == 2 and backend.captured == ["good"]
    assert "bad: RuntimeError" in runner.stats.errors[0]


def _run(runner, objects: int = 1, n: int = 10):
    frames, masks = moving_square_clip(n, h=48, w=64)
    session = VideoSession(tiny_model(), ArraySource(frames), MemoryConfig(r=3, T_min=2, T_max=4, P=4, LT_max=16),
                           size=48, precision="fp32")
    if runner is not None:
        session.core.runner = runner
    first = masks[0].copy()
    if objects == 2:
        first[:, 40:] = np.where(first[:, 40:] > 0, 2, 0)
    session.set_mask(0, first)
    return [r.mask.copy() for r in session.propagate(0, 1)], session


@pytest.mark.parametrize("objects", [1, 2])
def test_session_through_the_graph_runner_gives_the_eager_masks(objects: int) -> None:
    """The core's three stages, run through GraphRunner (fake replay), give bit-identical masks: the stage
    functions depend only on their tensor inputs and their variant (flags), as a captured graph requires."""
    eager, s0 = _run(None, objects)
    assert isinstance(s0.core.runner, EagerRunner)
    backend = FakeBackend()
    graphed, session = _run(GraphRunner(backend, warmup=1), objects)
    for a, b in zip(eager, graphed, strict=True):
        assert np.array_equal(a, b)
    stats = session.core.runner.stats
    assert stats.replays > stats.captures > 0 and stats.failures == 0
    names = {k[0] for k in session.core.runner._graphs}
    assert names == {"key_encoder", "decoder", "value_encoder"}
