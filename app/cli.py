"""`python main.py open CLIP [--workspace DIR]`: start the annotation app (Qt is imported only when it runs)."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the `open` sub-command on the caller's sub-parsers."""
    p = subparsers.add_parser("open", help="open a clip in the annotation app",
                              description="Open a video file, a frame folder, or a workspace folder in the "
                                          "desktop annotation app.")
    p.add_argument("clip", nargs="?", help="video file, folder of frames, or workspace folder")
    p.add_argument("--workspace", help="workspace folder (default: <clip>.xmem beside the clip)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Start the QApplication and the main window; returns the exit code."""
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("XMem Studio")
    app.setOrganizationName("xmem")
    win = MainWindow()
    win.show()
    if getattr(args, "clip", None) and not win.open_path(args.clip, getattr(args, "workspace", None)):
        return 1
    return app.exec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xmem-app")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
