"""Paths of the bundled resources (default weights, sample clip)."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
WEIGHTS_DIR = RESOURCES / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "xmem-lite.pth"
SAMPLE_DIR = RESOURCES / "sample"
SAMPLE_CLIP = SAMPLE_DIR / "sample.mp4"
SAMPLE_MASK = SAMPLE_DIR / "first_mask.png"


def default_weights() -> Path:
    """The weights the app and the CLI load when none are given."""
    return DEFAULT_WEIGHTS
