"""``main.py eval PRED_ROOT GT_ROOT [--csv FILE]``: DAVIS J / F / J&F of predicted masks against ground truth."""

from __future__ import annotations

import argparse
import sys

from xmem_core.io.atomic import atomic_write_text
from xmem_core.io.masks import MaskError
from xmem_core.metrics.davis import EvalResult, EvaluationError, evaluate_folders

__all__ = ["add_parser", "run", "format_table", "format_csv"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``eval`` sub-command (sets ``func=run``)."""
    parser = subparsers.add_parser(
        "eval", help="score predicted masks against ground truth (DAVIS J, F, J&F)",
        description="Score predicted masks against ground truth with the DAVIS J (IoU) and F (boundary) "
                    "measures over all frames but the first. Both roots hold one folder of PNG masks per clip.")
    parser.add_argument("pred_root", metavar="PRED_ROOT", help="folder of predicted clip folders")
    parser.add_argument("gt_root", metavar="GT_ROOT", help="folder of ground-truth clip folders (or a dataset "
                                                           "root with Annotations/)")
    parser.add_argument("--csv", metavar="FILE", help="also write clip,J,F,JF rows (percent) to FILE")
    parser.set_defaults(func=run)
    return parser


def format_table(result: EvalResult) -> str:
    """Fixed-width table of per-clip J, F, J&F in percent (1 decimal) with a final mean row."""
    width = max([len("mean"), len("clip")] + [len(c.clip) for c in result.clips])
    lines = [f"{'clip':<{width}}  {'J':>6}  {'F':>6}  {'J&F':>6}"]
    lines.append("-" * len(lines[0]))
    rows = [(c.clip, c.J, c.F, c.JF) for c in result.clips]
    for name, j, f, jf in rows:
        lines.append(f"{name:<{width}}  {100 * j:6.1f}  {100 * f:6.1f}  {100 * jf:6.1f}")
    lines.append("-" * len(lines[0]))
    lines.append(f"{'mean':<{width}}  {100 * result.J:6.1f}  {100 * result.F:6.1f}  {100 * result.JF:6.1f}")
    return "\n".join(lines)


def format_csv(result: EvalResult) -> str:
    """CSV text: header ``clip,J,F,JF``, one row per clip, then ``mean``; values in percent with 2 decimals."""
    rows = ["clip,J,F,JF"]
    for name, j, f, jf in [(c.clip, c.J, c.F, c.JF) for c in result.clips] + [("mean", result.J, result.F,
                                                                                  result.JF)]:
        rows.append(f"{_csv_field(name)},{100 * j:.2f},{100 * f:.2f},{100 * jf:.2f}")
    return "\n".join(rows) + "\n"


def _csv_field(text: str) -> str:
    """Quote a CSV field if it needs it."""
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, optionally write the CSV; errors → one line on stderr and exit code 2."""
    try:
        result = evaluate_folders(args.pred_root, args.gt_root)
        print(format_table(result))
        if getattr(args, "csv", None):
            atomic_write_text(args.csv, format_csv(result))
    except (EvaluationError, MaskError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
