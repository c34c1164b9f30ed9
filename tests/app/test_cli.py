"""The `open` sub-command: registered without importing Qt, and starts the window on a clip."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from app import cli


def test_cli_module_is_qt_free() -> None:
    code = "import sys, app.cli; assert not any(m.startswith('PySide6') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_parser_and_run(qtbot, clip: Path, monkeypatch) -> None:  # noqa: ANN001
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    args = parser.parse_args(["open", str(clip), "--workspace", str(clip.parent / "w")])
    assert args.clip == str(clip) and args.func is cli.run
    from PySide6.QtWidgets import QApplication

    seen = {}

    def fake_exec() -> int:
        wins = [w for w in QApplication.topLevelWidgets()  # windows of earlier tests may linger, closed
                if w.__class__.__name__ == "MainWindow" and w.project is not None]
        seen["frames"] = wins[-1].project.model.n_frames
        wins[-1].close()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(fake_exec))
    assert cli.run(args) == 0
    assert seen["frames"] == 12 and (clip.parent / "w" / "project.json").is_file()
