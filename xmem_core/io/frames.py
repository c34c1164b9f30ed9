"""Lazy frame sources: a folder of images or a video file, indexed like a list of H×W×3 uint8 RGB arrays."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from xmem_core.io.base import FrameSource, FrameSourceError, natural_key
from xmem_core.io.video import VIDEO_EXTENSIONS, VideoSource

__all__ = [
    "FrameSourceError", "FrameSource", "FolderSource", "VideoSource", "open_frames",
    "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "natural_key",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


class FolderSource(FrameSource):
    """Frames from a folder of jpg/jpeg/png files in natural sort order; names are the file stems."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(path)
        files = [p for p in self.path.iterdir() if p.is_file() and not p.name.startswith(".")
                 and p.suffix.lower() in IMAGE_EXTENSIONS]
        if not files:
            raise FrameSourceError(f"no .jpg/.jpeg/.png frames in folder {self.path}")
        self.files = sorted(files, key=lambda p: natural_key(p.name))
        self._names = [p.stem for p in self.files]
        dup = _first_duplicate(self._names)
        if dup is not None:
            raise FrameSourceError(f"two frames share the stem {dup!r} in {self.path}")
        self._size = _image_size(self.files[0])
        self._check_headers()

    def _check_headers(self) -> None:
        """Read every frame's header (no pixels) so a bad or odd-sized frame fails at open, not mid-run."""
        for path in self.files[1:]:
            h, w = _image_size(path)
            if (h, w) != self._size:
                raise FrameSourceError(
                    f"frame {path.name} is {h}x{w} (HxW) but the first frame {self.files[0].name} is "
                    f"{self._size[0]}x{self._size[1]}; all frames must share one size")

    def __len__(self) -> int:
        return len(self.files)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def _read(self, index: int) -> np.ndarray:
        path = self.files[index]
        try:
            with Image.open(path) as img:
                arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError) as exc:
            raise FrameSourceError(f"cannot read frame {path}: {exc}") from exc
        if arr.shape[:2] != self._size:
            raise FrameSourceError(
                f"frame {path.name} is {arr.shape[0]}x{arr.shape[1]} (HxW) but the first frame "
                f"{self.files[0].name} is {self._size[0]}x{self._size[1]}; all frames must share one size")
        return arr


def _first_duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def _image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image from its header, without decoding pixels."""
    try:
        with Image.open(path) as img:
            w, h = img.size
    except (OSError, ValueError) as exc:
        reason = "not an image file" if isinstance(exc, UnidentifiedImageError) else str(exc)
        raise FrameSourceError(f"cannot read frame {path}: {reason}") from exc
    return h, w


def open_frames(path: str | os.PathLike) -> FrameSource:
    """Open a video file (mp4/mov/avi/mkv/webm) or a folder of jpg/png frames; raises FrameSourceError."""
    p = Path(path)
    if not p.exists():
        raise FrameSourceError(f"no such file or folder: {p}")
    if p.is_dir():
        return FolderSource(p)
    ext = p.suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return VideoSource(p)
    if ext in IMAGE_EXTENSIONS:
        raise FrameSourceError(f"{p} is a single image; open the folder that holds the frames instead")
    raise FrameSourceError(
        f"unsupported file type {ext or '(none)'!r} for {p}; expected a folder of frames or one of "
        + "/".join(e[1:] for e in VIDEO_EXTENSIONS))

