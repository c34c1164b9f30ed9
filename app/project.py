"""A clip opened together with its workspace: builds the model, restores it, and autosaves every change."""

from __future__ import annotations

import os
from pathlib import Path

from app.model.annotation import AnnotationModel
from app.model.masks import MaskStore
from app.paths import default_workspace
from app.settings import EngineSettings
from app.workspace import ProjectData, Workspace, WorkspaceError


def open_source(path: str | os.PathLike[str]):  # noqa: ANN201 - xmem_core FrameSource
    """Open a video file or frame folder lazily (raises xmem_core.io FrameSourceError)."""
    from xmem_core.io.frames import open_frames

    return open_frames(path)


class Project:
    """Owns the frame source, workspace and `AnnotationModel` of one clip.

    Autosave: masks are written by the MaskStore on every change; project.json (objects, keyframes,
    settings, position) is rewritten atomically whenever one of those changes.
    """

    def __init__(self, clip: str | os.PathLike[str], workspace: str | os.PathLike[str] | None = None) -> None:
        clip_path = Path(clip)
        if workspace is None and Workspace.is_workspace(clip_path):
            workspace = clip_path
            data = Workspace(clip_path).load()
            assert data is not None
            clip_path = Path(data.source)
        self.clip_path = clip_path.resolve()
        self.frames = open_source(self.clip_path)
        self.workspace = Workspace(workspace if workspace is not None else default_workspace(self.clip_path))
        data = self.workspace.load()
        if data is not None and data.n_frames and data.n_frames != len(self.frames):
            raise WorkspaceError(
                f"workspace {self.workspace.root} belongs to a clip with {data.n_frames} frames, "
                f"but {self.clip_path.name} has {len(self.frames)}; choose another workspace folder")
        self.masks = MaskStore(self.workspace.masks_dir, self.frames.size)
        self.model = AnnotationModel(self.frames, self.masks)
        self.settings = EngineSettings()
        self._restoring = True
        self.save_count = 0
        if data is not None:
            self._restore(data)
        else:
            self.model.objects.add("Object 1")
        self._restoring = False
        m = self.model
        for ev in (m.keyframes_changed, m.objects.changed, m.objects.selected_changed, m.range_changed):
            ev.connect(self._autosave)
        self.save()

    def _restore(self, data: ProjectData) -> None:
        m = self.model
        m.objects.load(data.objects)
        if not len(m.objects):
            m.objects.add("Object 1")
        if data.selected_object in m.objects:
            m.objects.select(data.selected_object)
        m.keyframes = {k for k in data.keyframes if k in self.masks}
        self.settings = EngineSettings.from_dict(data.settings)
        m.in_point, m.out_point = data.in_point, data.out_point
        m.current = min(max(0, data.current_frame), max(0, m.n_frames - 1))
        log = self.workspace.load_memlog()
        if log:
            m.memlog.load_json(log)

    def _autosave(self, *args: object) -> None:
        if not self._restoring:
            self.save()

    def data(self) -> ProjectData:
        m = self.model
        return ProjectData(source=str(self.clip_path), n_frames=m.n_frames, size=tuple(m.size),
                           objects=m.objects.to_list(), keyframes=sorted(m.keyframes),
                           settings=self.settings.to_dict(), current_frame=m.current, in_point=m.in_point,
                           out_point=m.out_point, selected_object=m.objects.selected)

    def save(self) -> None:
        """Write project.json atomically (masks are already on disk)."""
        self.workspace.save(self.data())
        self.save_count += 1

    def save_memlog(self) -> None:
        self.workspace.save_memlog(self.model.memlog.to_json())

    def close(self) -> None:
        """Save everything; raises OSError (after closing) when masks kept in memory still cannot be written."""
        try:
            if not self.masks.flush():
                exc = self.masks.last_error
                raise OSError(getattr(exc, "errno", None), f"{len(self.masks.unsaved_frames())} mask(s) could not be "
                              f"saved to {self.masks.folder}: {getattr(exc, 'strerror', None) or exc}")
            self.save()
            self.save_memlog()
        finally:
            close = getattr(self.frames, "close", None)
            if close:
                close()


def copy_workspace(project: Project, target: str | os.PathLike[str]) -> Path:
    """Save `project`, then copy its workspace (project.json, masks, memory log) into `target`, which must be a new
    or empty folder other than the current one; returns the target. Raises ValueError / OSError."""
    import shutil

    dst = Path(target).resolve()
    src = project.workspace.root.resolve()
    if dst == src:
        raise ValueError("that is the project's current folder: choose a new or empty folder")
    if dst.exists() and any(dst.iterdir()):
        raise ValueError(f"{dst} is not empty: choose a new or empty folder")
    project.save()
    project.save_memlog()
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst
