"""Out-of-memory fallback (smaller processing size, then the CPU) and the device shown in the status bar, driven
with a session that raises the out-of-memory error a GPU would."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.engine import fallback
from app.engine.fallback import degrade, is_out_of_memory
from app.engine.plan import Mode
from app.settings import EngineSettings
from tests.app.conftest import N
from tests.app.helpers import SlowSession
from tests.app.test_window import _paint_square, _run


def test_is_out_of_memory() -> None:
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_degrade_gives_up_size_then_the_gpu() -> None:
    s, steps = EngineSettings(size=-1, device="cuda"), []
    while (step := degrade(s)) is not None:
        s, message = step
        steps.append((s.device, s.size))
        assert "ran out of memory" in message
    assert steps == [("cuda", 480), ("cuda", 360), ("cuda", 240), ("cpu", 240)]
    assert degrade(EngineSettings(size=1080, device="cpu")).__getitem__(0).size == 480
    assert degrade(EngineSettings(size=240, device="cpu")) is None


@pytest.fixture
def oom_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """VideoSession.propagate raises torch.cuda.OutOfMemoryError once, when it reaches frame 5."""
    from xmem_core.inference.session import VideoSession

    original, raised = VideoSession.propagate, []

    def propagate(self, *args, **kwargs):
        for res in original(self, *args, **kwargs):
            if res.frame == 5 and not raised:
                raised.append(res.frame)
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.50 GiB")
            yield res

    monkeypatch.setattr(VideoSession, "propagate", propagate)
    monkeypatch.setattr(fallback, "FALLBACK_SIZES", (48, 32))
    return raised


def test_out_of_memory_continues_smaller_and_loses_nothing(window, qtbot, oom_once) -> None:  # noqa: ANN001
    m = window.project.model
    _paint_square(window)
    keyframe = m.mask(0).copy()
    messages, frames = [], []
    window.controller.status.connect(messages.append)
    window.controller.frame_processed.connect(frames.append)
    _run(window, qtbot, Mode.FORWARD)
    assert oom_once == [5]
    assert window.controller.last_status == "done"
    assert frames == list(range(N))  # every frame once, in order, none lost
    assert all(m.mask(f) is not None for f in range(N))
    assert np.array_equal(m.mask(0), keyframe)
    assert any("ran out of memory at 64 px: continuing at 48 px" in s for s in messages)
    assert window.project.settings.size == 48  # kept for the next run, shown in the memory panel
    assert window.memory_panel.settings.size == 48
    assert window.status.device.text() == "CPU"



class _OomSession(SlowSession):
    """SlowSession that raises a CUDA out-of-memory error on reaching `fail_at` (once), like a GPU would."""

    def __init__(self, fail_at: int | None) -> None:
        super().__init__(N, (8, 8), delay=0.0)
        self.fail_at, self.starts = fail_at, []

    def keyframe_mask(self, frame: int) -> np.ndarray | None:
        return self.keys.get(frame)

    @property
    def keyframes(self) -> list[int]:
        return sorted(self.keys)

    def propagate(self, start, direction=1, **kwargs):  # noqa: ANN001, ANN003, ANN201
        self.starts.append((start, None if kwargs.get("start_mask") is None else kwargs["start_mask"].copy()))
        for res in super().propagate(start, direction, **kwargs):
            if res.frame == self.fail_at:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory")
            yield res


@pytest.mark.parametrize("direction", [1, -1])
def test_worker_continues_from_the_last_emitted_frame(qtbot, direction: int) -> None:  # noqa: ANN001
    from app.engine.plan import Pass
    from app.engine.worker import PropagationWorker

    key = np.zeros((8, 8), np.uint8)
    key[2:5, 2:5] = 3
    start = 0 if direction > 0 else N - 1
    first, second = _OomSession(fail_at=start + 4 * direction), _OomSession(fail_at=None)
    got_keyframes = []

    def fallback(keyframes):  # noqa: ANN001, ANN202
        got_keyframes.append(keyframes)
        return second, "The GPU ran out of memory at 480 px: continuing at 360 px from the last finished frame."

    worker = PropagationWorker(lambda: first, [Pass(start, direction, None, False)], {start: key}, fallback=fallback)
    frames, notices = [], []
    worker.frame_done.connect(lambda f, mask, stats, is_key: frames.append(f))
    worker.fell_back.connect(notices.append)
    worker.run()
    expected = list(range(start, start + N * direction, direction))
    assert frames == expected and len(notices) == 1
    assert [k for k in got_keyframes[0]] == [start] and np.array_equal(got_keyframes[0][start], key)
    restart, mask = second.starts[0]
    assert restart == start + 3 * direction and np.array_equal(mask, key)  # the last emitted frame and its mask


def test_worker_without_fallback_reports_the_error(qtbot) -> None:  # noqa: ANN001
    from app.engine.plan import Pass
    from app.engine.worker import PropagationWorker

    key = np.ones((8, 8), np.uint8)
    worker = PropagationWorker(lambda: _OomSession(fail_at=2), [Pass(0, 1, None, False)], {0: key})
    errors, status = [], []
    worker.failed.connect(errors.append)
    worker.finished.connect(status.append)
    worker.run()
    assert status == ["error"] and isinstance(errors[0], torch.cuda.OutOfMemoryError)
