"""Where the app finds its resources and default weights, and where it keeps per-user state."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = REPO_ROOT / "resources"
ICONS = RESOURCES / "icons"
WEIGHTS_DIR = RESOURCES / "weights"


def default_weights(weights_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The newest `*.pth` in resources/weights (the shipped default), or None if there is none."""
    folder = Path(weights_dir) if weights_dir is not None else WEIGHTS_DIR
    candidates = [p for p in folder.glob("*.pth") if p.is_file()]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name))


def config_dir() -> Path:
    """Per-user configuration folder (recent files); override with $XMEM_APP_CONFIG_DIR."""
    env = os.environ.get("XMEM_APP_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "xmem-app"


def default_workspace(clip: str | os.PathLike[str]) -> Path:
    """Workspace folder for a clip: `<clip>.xmem` beside it, or under the user folder if that is read-only."""
    clip = Path(clip).resolve()
    beside = clip.parent / f"{clip.name}.xmem"
    if beside.exists() or os.access(clip.parent, os.W_OK):
        return beside
    digest = hashlib.sha1(str(clip).encode()).hexdigest()[:8]
    return config_dir() / "workspaces" / f"{clip.name}-{digest}"
