"""Frame sources (video / image folder), index masks (DAVIS palette PNG) and atomic file writes."""

from xmem_core.io.atomic import atomic_save, atomic_write_bytes, atomic_write_text
from xmem_core.io.base import FrameSource, FrameSourceError
from xmem_core.io.frames import FolderSource, VideoSource, open_frames
from xmem_core.io.masks import DAVIS_PALETTE, MaskError, read_mask, write_mask

__all__ = [
    "DAVIS_PALETTE", "FolderSource", "FrameSource", "FrameSourceError", "MaskError", "VideoSource",
    "atomic_save", "atomic_write_bytes", "atomic_write_text", "open_frames", "read_mask", "write_mask",
]
