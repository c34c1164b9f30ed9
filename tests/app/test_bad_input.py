"""The app under bad input and faults: a full disk stops the run and keeps results; damaged masks are missing."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

import app.model.masks as masks_module
from app.engine.plan import Mode
from app.maskio import save_mask
from app.ui.dialogs import error_log
from tests.app.conftest import H, N, W
from tests.app.helpers import SlowSession


def _keyframe(win) -> np.ndarray:  # noqa: ANN001
    m = win.project.model
    mask = np.zeros((H, W), np.uint8)
    mask[20:44, 10:34] = 1
    m.commit_edit(0, mask, "Paint")
    return mask


def _full_disk_after(monkeypatch: pytest.MonkeyPatch, allowed: int) -> list[int]:
    """Let `allowed` more mask writes through, then fail every write with ENOSPC (as a full disk does)."""
    real = masks_module.save_mask
    calls: list[int] = []

    def save(path, mask) -> None:  # noqa: ANN001
        calls.append(1)
        if len(calls) > allowed:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, mask)

    monkeypatch.setattr(masks_module, "save_mask", save)
    return calls


def test_full_disk_stops_the_run_with_a_dialog_and_keeps_results(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    m = window.project.model
    key = _keyframe(window)
    fake = SlowSession(N, (H, W), delay=0.03)
    window.controller._provider_override = lambda: fake
    _full_disk_after(monkeypatch, allowed=3)
    failed: list[tuple[str, str]] = []
    window.controller.write_failed.connect(lambda folder, cause: failed.append((folder, cause)))
    with qtbot.waitSignal(window.controller.run_finished, timeout=20000):
        assert window.propagate(Mode.FORWARD)
    qtbot.waitUntil(lambda: bool(error_log()), timeout=5000)
    title, text = error_log()[-1]
    folder = str(window.project.masks.folder)
    assert title == "Disk full: masks not saved"
    assert folder in text and "No space left on device" in text and "kept in memory" in text
    assert failed == [(folder, "No space left on device")]
    assert window.controller.last_status == "error"  # not "Propagation finished"
    assert len(fake.visited) < N  # the run stopped early
    unsaved = m.masks.unsaved_frames()
    assert unsaved and all(m.mask(f) is not None for f in unsaved)  # results kept in memory, still shown
    kept = {f: m.mask(f).copy() for f in unsaved}
    # the user frees space: the next run first writes what was kept
    monkeypatch.setattr(masks_module, "save_mask", save_mask)
    with qtbot.waitSignal(window.controller.run_finished, timeout=20000):
        assert window.propagate(Mode.FORWARD)
    assert m.masks.unsaved_frames() == []
    for f in kept:
        assert m.masks.path(f).is_file()
    assert np.array_equal(m.mask(0), key)


def test_unwritable_workspace_keeps_paint_in_memory(window, monkeypatch) -> None:  # noqa: ANN001
    m = window.project.model
    monkeypatch.setattr(masks_module, "save_mask", _raise_permission)
    key = _keyframe(window)
    assert np.array_equal(m.mask(0), key) and m.masks.unsaved_frames() == [0]
    QApplication.processEvents()  # the dialog is shown after the edit returns
    assert error_log() and error_log()[-1][0] == "Cannot save masks"
    assert str(m.masks.folder) in error_log()[-1][1]
    window.close_project()  # closing with masks only in memory says so instead of dropping them silently
    assert "1 mask(s) could not be saved" in error_log()[-1][1]


def _raise_permission(path, mask) -> None:  # noqa: ANN001
    raise PermissionError(errno.EACCES, "Permission denied", str(path))


def test_damaged_workspace_mask_is_missing_and_repaired(window, qtbot) -> None:  # noqa: ANN001
    m = window.project.model
    _keyframe(window)
    fake = SlowSession(N, (H, W), delay=0.0)
    window.controller._provider_override = lambda: fake
    with qtbot.waitSignal(window.controller.run_finished, timeout=20000):
        assert window.propagate(Mode.FORWARD)
    path = m.masks.path(5)
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")  # a damaged mask file
    m.masks._cache.clear()
    messages: list[str] = []
    window.controller.status.connect(messages.append)
    m.set_current(5)  # seeking used to raise MaskFileError
    assert m.mask(5) is None and 5 not in m.masks
    assert any("frame 5 is unreadable" in s for s in messages)
    assert Path(str(path) + ".damaged").read_bytes().endswith(b"garbage")  # kept, not deleted
    m.set_current(0)
    with qtbot.waitSignal(window.controller.run_finished, timeout=20000):
        assert window.propagate(Mode.FORWARD)
    assert m.mask(5) is not None and path.is_file()  # propagation rewrote it


class _Payload:
    """Unpickling this calls os.system, which would create `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("name", ["project.json", "memory_log.json", "masks/000000.png"])
def test_workspace_files_never_unpickle(name: str, qtbot, clip: Path, tmp_path: Path) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    ws, marker = tmp_path / "ws", tmp_path / "PWNED"
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.open_path(clip, ws)
    win.close_project()
    (ws / name).write_bytes(pickle.dumps(_Payload(marker)))
    opened = win.open_path(clip, ws)
    if name == "project.json":
        assert not opened and error_log()[-1][0] == "Workspace problem"
    else:
        assert opened and win.project.model.mask(0) is None
        win.close_project()
    assert not marker.exists(), "a workspace file's pickle payload ran"


def test_truncated_video_opens_with_the_frames_that_decode(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    import av

    from app.main_window import MainWindow
    from tests.app.conftest import encode_clip

    path = encode_clip(tmp_path / "cut.mp4", "mpeg4", {"movflags": "faststart"})
    with av.open(str(path)) as c:
        cut = [p.pos for p in c.demux(c.streams.video[0]) if p.size][3]
    path.write_bytes(path.read_bytes()[:cut])
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.open_path(path, tmp_path / "ws")
    assert win.project.model.n_frames == 3  # the header says 12: the app used to fail mid-run at frame 3
    assert win.project.frames[2].shape == (H, W, 3)
    assert "header says" in win.status.currentMessage()  # the user is told why the clip is shorter
    win.close_project()
