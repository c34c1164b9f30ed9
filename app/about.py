"""What the About box says (Qt-free): app name and version, and the loaded weights with their model-card J&F."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from app.paths import REPO_ROOT, default_weights

APP_NAME = "XMem Studio"
_JF = re.compile(r"J&F\s*\**\s*([0-9]+(?:\.[0-9]+)?)\s*\**\s*(on [\w-]+(?: at \w+)?)?")


def app_version() -> str:
    """Version from pyproject.toml ("unknown" if it cannot be read)."""
    try:
        return str(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def model_card_jf(weights: Path) -> str | None:
    """The first "J&F <number> [on <set>]" in the model card beside `weights` (MODEL_CARD.md or <stem>.md)."""
    for card in (weights.with_suffix(".md"), weights.parent / "MODEL_CARD.md"):
        try:
            text = card.read_text("utf-8")
        except OSError:
            continue
        m = _JF.search(text)
        if m:
            return f"J&F {m.group(1)}" + (f" {m.group(2)}" if m.group(2) else "")
    return None


def weights_line(weights: str | None) -> str:
    """"xmem-lite.pth (shipped default) · model card: J&F 50.1 on davis16-dev" or what is known of it."""
    path = Path(weights) if weights else default_weights()
    if path is None:
        return "no weights found (resources/weights is empty)"
    which = "" if weights else " (shipped default)"
    jf = model_card_jf(path)
    card = f" · model card: {jf}" if jf else " · no model card with a J&F figure"
    return f"{path.name}{which}{card}"


def about_text(weights: str | None) -> str:
    return (f"<b>{APP_NAME}</b> {app_version()}<br>Paint a mask, propagate it through the clip with XMem, "
            f"correct, and export mattes for compositing.<br><br>Weights: {weights_line(weights)}")
