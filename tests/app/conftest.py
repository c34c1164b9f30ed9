"""Fixtures for the app tests: offscreen Qt, a generated clip, a tiny random-weight model, an open window."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XMEM_APP_NO_DIALOGS"] = "1"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

H, W, N = 64, 96, 12


def make_frames(n: int = N, h: int = H, w: int = W) -> list[np.ndarray]:
    """A red square moving right over a textured background."""
    rng = np.random.default_rng(0)
    bg = (rng.integers(40, 90, (h, w, 3))).astype(np.uint8)
    frames = []
    for i in range(n):
        f = bg.copy()
        x = 10 + 3 * i
        f[20:44, x:x + 24] = (220, 40, 40)
        frames.append(f)
    return frames


@pytest.fixture(autouse=True)
def _app_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XMEM_APP_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("XMEM_APP_NO_DIALOGS", "1")
    from app.ui import dialogs

    dialogs.error_log().clear()
    dialogs.asked().clear()
    dialogs._ANSWERS.clear()


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 12-frame 64×96 PNG frame folder."""
    d = tmp_path / "clip"
    d.mkdir()
    for i, f in enumerate(make_frames()):
        Image.fromarray(f).save(d / f"{i:05d}.png")
    return d


@pytest.fixture
def video_clip(tmp_path: Path) -> Path:
    """The same clip as an mp4 (H.264)."""
    return encode_clip(tmp_path / "clip.mp4", "libx264")


def encode_clip(path: Path, codec: str, options: dict[str, str] | None = None) -> Path:
    """Write `make_frames()` to `path` at 25 fps with `codec` (container `options`, e.g. movflags)."""
    import av

    with av.open(str(path), "w", options=options or {}) as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        for f in make_frames():
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight XMem saved with save_weights (plumbing, not accuracy)."""
    import torch

    from xmem_core.config import ModelConfig
    from xmem_core.model.checkpoint import save_weights
    from xmem_core.model.network import XMem

    torch.manual_seed(0)
    torch.set_num_threads(1)
    cfg = ModelConfig.xmem_lite().with_(name="tiny", key_backbone="efficientnet-lite0", key_dim=16, value_dim=32,
                                        hidden_dim=16, decoder_dims=(32, 16, 16))
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    save_weights(XMem(cfg), path)
    return path


def small_settings(weights: Path):  # noqa: ANN201
    """Small memory settings so consolidation and eviction happen within 12 frames."""
    from app.settings import EngineSettings

    return EngineSettings(r=2, T_min=2, T_max=4, P=8, LT_max=16, top_k=10, size=64, weights=str(weights))


@pytest.fixture
def window(qtbot, clip: Path, tiny_weights: Path):  # noqa: ANN001, ANN201
    """The real main window with the generated clip open and the tiny model selected."""
    from app.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    assert win.open_path(clip, clip.parent / "ws")
    win.apply_settings(small_settings(tiny_weights))
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item):  # noqa: ANN001, ANN201
    """After pytest-qt has closed a test's widgets (deleteLater), delete them and collect their Python side now.

    A deferred delete is otherwise carried out by the next test's first event loop, and Python's garbage
    collector frees the dead widgets' wrappers at some later moment, possibly inside another view's paint event:
    that crashed the suite (pyqtgraph views, 'Cannot destroy paint device that is being painted')."""
    yield
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
