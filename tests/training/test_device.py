"""Device resolution: CUDA devices are always indexed (`torch.cuda.set_device` rejects a bare "cuda")."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from training.trainer import resolve_device


@pytest.mark.parametrize(("name", "rank", "want"), [
    ("cpu", 0, torch.device("cpu")),
    ("cuda", 0, torch.device("cuda", 0)),
    ("cuda", 3, torch.device("cuda", 3)),
    ("cuda:1", 3, torch.device("cuda", 1)),
])
def test_cuda_is_indexed(name: str, rank: int, want: torch.device) -> None:
    assert resolve_device(name, rank) == want


def test_auto_follows_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto", 2) == torch.device("cuda", 2)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto", 2) == torch.device("cpu")


def test_engine_and_training_import_without_pyav(tmp_path) -> None:
    """PyAV is imported only where a video is opened (a GPU machine may not have it)."""
    code = textwrap.dedent("""
        import sys
        sys.modules["av"] = None  # any `import av` now raises ImportError
        import xmem_core.io, xmem_core.model.checkpoint, xmem_core.inference.session, training.trainer
        from xmem_core.io import open_frames
        from xmem_core.io.base import FrameSourceError
        try:
            open_frames(sys.argv[1])
        except FrameSourceError as exc:
            assert "PyAV" in str(exc), exc
        else:
            raise AssertionError("opening a video without PyAV must fail with a clear message")
        print("ok")
    """)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 64)
    out = subprocess.run([sys.executable, "-c", code, str(clip)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
