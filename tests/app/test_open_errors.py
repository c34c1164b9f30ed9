"""Issue 17 defect 7: a clip that cannot be opened leaves the window open on its empty state, a corrupt video is
explained in words, and file dialogs start where the user's files are."""

from __future__ import annotations

import argparse
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from app.ui.dialogs import error_log


def test_open_missing_clip_stays_open(qtbot, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    from app import cli

    seen = {}

    def fake_exec(app, win) -> int:  # noqa: ANN001 - stands in for the event loop
        qtbot.addWidget(win)
        seen.update(visible=win.isVisible(), project=win.project, placeholder=win.centralWidget().objectName())
        return 0

    monkeypatch.setattr(cli, "exec_window", fake_exec)
    code = cli.run(argparse.Namespace(clip=str(tmp_path / "missing.mp4"), workspace=None))
    assert code == 0 and seen == {"visible": True, "project": None, "placeholder": "drop_hint"}
    title, text = error_log()[-1]
    assert title == "Cannot open clip" and "missing.mp4" in text


def test_corrupt_video_is_explained_in_words(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    assert not win.open_path(bad)
    title, text = error_log()[-1]
    assert title == "Cannot open clip"
    assert "Errno" not in text and "1094995529" not in text
    assert "holiday.mp4 could not be read as a video" in text and "damaged" in text and "ffmpeg" in text


def test_file_dialogs_start_in_the_clip_folder(window, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    asked = []

    def fake_open(parent, caption, folder="", filt=""):  # noqa: ANN001, ANN202
        asked.append(folder)
        return ("", "")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    window.actions["import_mask"].trigger()
    clip_folder = str(window.project.clip_path.parent)
    assert asked[-1] == clip_folder  # not the process's working directory
    other = tmp_path / "masks_from_elsewhere"
    other.mkdir()
    (other / "m.png").write_bytes(b"")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (asked.append(a[2]), (str(other / "m.png"), ""))[1]))
    window.actions["import_mask"].trigger()  # the chosen file is no mask: an error, but the folder is remembered
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    window.actions["open"].trigger()
    assert asked[-1] == str(other)
