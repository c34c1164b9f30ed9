"""Per-user preferences that outlive a project (brush size), kept with QSettings in the user config folder."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.paths import config_dir


def prefs() -> QSettings:
    """QSettings in <config>/studio.ini ($XMEM_APP_CONFIG_DIR in tests)."""
    return QSettings(str(config_dir() / "studio.ini"), QSettings.Format.IniFormat)


def load_int(key: str, default: int) -> int:
    try:
        return int(prefs().value(key, default))
    except (TypeError, ValueError):
        return default


def save_value(key: str, value: object) -> None:
    s = prefs()
    s.setValue(key, value)
    s.sync()
