"""Workspace folder per clip: project.json, masks/ (palette PNGs), memory_log.json. All writes are atomic."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.atomic import atomic_write_json

PROJECT_FILE = "project.json"
MEMLOG_FILE = "memory_log.json"
MASKS_DIR = "masks"
FORMAT = "xmem-app-project-v1"


class WorkspaceError(ValueError):
    """A workspace could not be created or read (one readable line)."""


@dataclass
class ProjectData:
    """What project.json holds (masks live in masks/, one palette PNG per frame)."""

    source: str
    n_frames: int = 0
    size: tuple[int, int] = (0, 0)
    objects: list[dict[str, Any]] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    current_frame: int = 0
    in_point: int | None = None
    out_point: int | None = None
    selected_object: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "source": self.source, "n_frames": self.n_frames, "size": list(self.size),
                "objects": self.objects, "keyframes": sorted(self.keyframes), "settings": self.settings,
                "current_frame": self.current_frame, "in_point": self.in_point, "out_point": self.out_point,
                "selected_object": self.selected_object}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ProjectData":
        return cls(source=str(d["source"]), n_frames=int(d.get("n_frames", 0)),
                   size=tuple(d.get("size", (0, 0))), objects=list(d.get("objects", [])),  # type: ignore[arg-type]
                   keyframes=[int(k) for k in d.get("keyframes", [])], settings=dict(d.get("settings", {})),
                   current_frame=int(d.get("current_frame", 0)), in_point=d.get("in_point"),
                   out_point=d.get("out_point"), selected_object=d.get("selected_object"))


class Workspace:
    """A folder holding everything about one clip's annotation."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / MASKS_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace folder {self.root}: {exc.strerror or exc}") from exc

    @property
    def masks_dir(self) -> Path:
        return self.root / MASKS_DIR

    @property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE

    @staticmethod
    def is_workspace(path: str | os.PathLike[str]) -> bool:
        return (Path(path) / PROJECT_FILE).is_file()

    def load(self) -> ProjectData | None:
        """The saved project, or None for a fresh workspace."""
        if not self.project_file.exists():
            return None
        try:
            d = json.loads(self.project_file.read_text("utf-8"))
            return ProjectData.from_json(d)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WorkspaceError(f"project file {self.project_file} is damaged: {exc}") from exc

    def save(self, data: ProjectData) -> None:
        atomic_write_json(self.project_file, data.to_json())

    def load_memlog(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.root / MEMLOG_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def save_memlog(self, obj: dict[str, Any]) -> None:
        atomic_write_json(self.root / MEMLOG_FILE, obj)
