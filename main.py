"""XMem video object segmentation: command line entry point.

  python main.py                      propagate the bundled sample clip with the shipped weights
  python main.py propagate INPUT ...  propagate a mask through a clip
  python main.py eval PRED GT         J, F and J&F of predicted masks
  python main.py open [CLIP]          open the desktop app
"""

from __future__ import annotations

import argparse
import sys

from xmem_core.cli import demo, evaluate, propagate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="XMem video object segmentation")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.add_parser(sub)
    _add_adapt_options(propagate.add_parser(sub))
    evaluate.add_parser(sub)
    _add_app_parser(sub)
    return parser


def _add_adapt_options(p: argparse.ArgumentParser) -> None:
    """propagate --adapt SECONDS comes from the training package (xmem_core never imports it)."""
    try:
        from training import adapt_cli
    except ImportError:
        return
    adapt_cli.add_options(p)


def _add_app_parser(sub: argparse._SubParsersAction) -> None:
    try:
        from app import cli as app_cli  # Qt-free at import time; PySide6 is imported when `open` runs
    except ImportError:
        return
    app_cli.add_parser(sub)


def main(argv: list[str] | None = None) -> int:
    from xmem_core.cli.errors import USER_ERRORS

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["demo", *argv]  # no command: run the bundled default
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as e:  # e.g. CUDA out of memory
        if "out of memory" in str(e).lower():
            print("error: out of memory: try a smaller --size or --device cpu", file=sys.stderr)
            return 3
        raise


def _one_line(error: BaseException) -> str:
    """First line of an error message (library messages can span paragraphs)."""
    lines = [ln.strip() for ln in str(error).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
