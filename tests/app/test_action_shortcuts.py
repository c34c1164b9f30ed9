"""Every shortcut in the action table names one action (two features once both claimed Ctrl+L)."""

from __future__ import annotations

from collections import Counter

from PySide6.QtGui import QKeySequence

from app.ui.actions import SPECS


def test_no_two_actions_share_a_shortcut() -> None:
    keys = Counter()
    owners: dict[str, list[str]] = {}
    for name, (_text, shortcut, _tip, _icon) in SPECS.items():
        for s in [shortcut] if isinstance(shortcut, str) else shortcut:
            if s:
                k = QKeySequence(s).toString()
                keys[k] += 1
                owners.setdefault(k, []).append(name)
    shared = {k: owners[k] for k, n in keys.items() if n > 1}
    assert not shared, f"shortcuts bound to more than one action: {shared}"
