"""VideoSource: lazy, seekable frame access to a video file through PyAV.

Sequential reads stream from one open decoder without seeking. Random access builds (once) a packet index by
demuxing without decoding, seeks to the nearest keyframe at or before the target and decodes forward. Decoded
frames pass through a small LRU cache owned by :class:`FrameSource`.
"""

from __future__ import annotations

import bisect
import contextlib
import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from xmem_core.io.base import FrameSource, FrameSourceError

if TYPE_CHECKING:  # PyAV is imported only where a video is opened, so the engine and training import without it
    import av

__all__ = ["VideoSource", "VIDEO_EXTENSIONS", "PacketIndex", "FramesEndedError"]

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm")


class FramesEndedError(FrameSourceError, IndexError):
    """A video ended before a frame its header promised (an IndexError for sequence users, one line for the CLI)."""


def _av() -> ModuleType:
    """PyAV, imported on first use (a machine without it can still use frame folders, the engine and training)."""
    try:
        return importlib.import_module("av")
    except ImportError as exc:
        raise FrameSourceError("reading video files needs PyAV (pip install av); frame folders work without it") \
            from exc


def _av_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a PyAV open, demux or decode can raise."""
    return (_av().FFmpegError, OSError, EOFError, ValueError)


@dataclass
class PacketIndex:
    """Presentation timestamps of every frame (sorted) and of the keyframes, from one demux-only pass."""

    pts: list[int] | None      # None when the container carries no usable timestamps
    keyframe_pts: list[int]
    count: int

    def index_of(self, pts: int | None) -> int | None:
        """Frame index of a timestamp, or None if unknown."""
        if pts is None or self.pts is None:
            return None
        i = bisect.bisect_left(self.pts, pts)
        return i if i < len(self.pts) and self.pts[i] == pts else None

    def keyframe_before(self, index: int) -> int | None:
        """Timestamp of the last keyframe at or before frame ``index`` (None: start from the beginning)."""
        if self.pts is None or not self.keyframe_pts:
            return None
        k = bisect.bisect_right(self.keyframe_pts, self.pts[index]) - 1
        return self.keyframe_pts[k] if k > 0 else None


def build_packet_index(path: str | os.PathLike) -> PacketIndex:
    """Demux (no decoding) the first video stream and collect frame timestamps and keyframes."""
    with _av().open(str(path)) as container:
        stream = container.streams.video[0]
        stamps: list[int | None] = []
        keys: list[int | None] = []
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:
                continue
            ts = packet.pts if packet.pts is not None else packet.dts
            stamps.append(ts)
            if packet.is_keyframe:
                keys.append(ts)
    if any(ts is None for ts in stamps) or len(set(stamps)) != len(stamps):
        return PacketIndex(None, [], len(stamps))
    return PacketIndex(sorted(stamps), sorted(k for k in keys if k is not None), len(stamps))


class VideoSource(FrameSource):
    """Frames of the first video stream of a file; names are zero-padded indices ("00000", "00001", ...)."""

    #: without a packet index, decode forward instead of seeking when the target is at most this many frames ahead
    SEEK_AHEAD = 48

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(path)
        self._container: av.container.InputContainer | None = None
        self._index: PacketIndex | None = None
        self._closed = False
        try:
            self._restart()
            first = self._next_frame()
        except FrameSourceError:
            self._close_container()
            raise
        except StopIteration as exc:
            self._close_container()
            raise FrameSourceError(f"cannot decode any frame from video {self.path}") from exc
        except _av_errors() as exc:
            self._close_container()
            raise FrameSourceError(f"cannot open video {self.path}: {_reason(exc)}") from exc
        self._pos = 1
        self._size = (first.height, first.width)
        self._cache.put(0, self._to_rgb(first))
        self._len = self._initial_count()

    # ----------------------------------------------------------------- public API
    def __len__(self) -> int:
        return self._len

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def names(self) -> list[str]:
        width = max(5, len(str(max(self._len - 1, 0))))
        return [f"{i:0{width}d}" for i in range(self._len)]

    @property
    def fps(self) -> float | None:
        """Average frame rate from the container, if known."""
        rate = self._stream.average_rate if self._container is not None else None
        return float(rate) if rate else None

    def count_frames(self) -> int:
        """Count frames exactly with a demux-only pass, fix ``len(self)`` if the header was wrong, and return it."""
        with self._lock:
            self._ensure_index()
            return self._len

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close_container()
            super().close()

    # ----------------------------------------------------------------- decoding
    def _read(self, index: int) -> np.ndarray:
        if self._closed:
            raise FrameSourceError(f"video {self.path} is closed")
        try:
            return self._decode_to(index)
        except (FrameSourceError, IndexError):
            raise
        except _av_errors() as exc:
            self._container = None  # force a fresh decoder on the next read
            raise FrameSourceError(f"cannot decode frame {index} of {self.path}: {_reason(exc)}") from exc

    def _decode_to(self, index: int) -> np.ndarray:
        if self._index is not None and index >= self._index.count:  # past the demuxed packets
            self._len = self._index.count
            raise FramesEndedError(f"video {self.path} ends early: frame {index} does not decode "
                                   f"({self._len} frames decodable)")
        if not self._can_stream_to(index):
            self._seek_before(index)
        # frames skipped on the way are converted and cached only if they fit in the cache next to the target
        # (they serve backward stepping); converting the rest would cost more than decoding them
        keep_from = index - self._cache.max_items + 1
        for attempt in range(2):
            for pos, frame in self._frames():
                if pos > index:
                    break
                if pos < keep_from:
                    continue
                arr = self._to_rgb(frame)
                self._cache.put(pos, arr)
                if pos == index:
                    return arr
            else:
                return self._hit_end(index)
            if attempt == 0:  # the seek overshot the target: decode from the very start instead
                self._restart()
        raise FrameSourceError(f"cannot locate frame {index} in {self.path}")

    def _can_stream_to(self, index: int) -> bool:
        """True if decoding forward from the current position reaches ``index`` at least as fast as a seek."""
        if self._container is None or self._pos is None or index < self._pos:
            return False
        if self._index is not None and self._index.pts is not None:
            key = self._index.keyframe_before(index)
            return key is None or (self._index.index_of(key) or 0) <= self._pos
        return index <= self._pos + self.SEEK_AHEAD

    def _frames(self) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield (index, frame) from the current decoder position until the end of the stream."""
        while True:
            try:
                frame = self._next_frame()
            except StopIteration:
                return
            pos = self._pos
            if pos is None:
                pos = self._index.index_of(frame.pts) if self._index is not None else None
                if pos is None:  # timestamps unusable after a seek: fall back to counting from the start
                    self._restart()
                    continue
            self._pos = pos + 1
            yield pos, frame

    def _next_frame(self) -> av.VideoFrame:
        return next(self._decoder)

    def _hit_end(self, index: int) -> np.ndarray:
        """The stream ended before ``index``: correct the length (the header overstated it) and fail."""
        if self._pos is not None and self._pos < self._len:
            self._len = self._pos
        raise FramesEndedError(f"video {self.path} ends early: frame {index} does not decode "
                               f"({self._len} frames decodable)")

    def _seek_before(self, index: int) -> None:
        self._ensure_index()
        target = self._index.keyframe_before(index) if self._index is not None else None
        if target is None or self._container is None:
            self._restart()
            if target is None:
                return
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self._decoder = self._container.decode(self._stream)
        self._pos = None

    def _restart(self) -> None:
        """(Re)open the container and position the decoder before frame 0."""
        self._close_container()
        self._container = _av().open(str(self.path))
        if not self._container.streams.video:
            raise FrameSourceError(f"no video stream in {self.path}")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._decoder = self._container.decode(self._stream)
        self._pos: int | None = 0

    def _close_container(self) -> None:
        if self._container is not None:
            with contextlib.suppress(*_av_errors()):
                self._container.close()
            self._container = None

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        h, w = self._size if hasattr(self, "_size") else (frame.height, frame.width)
        return frame.to_ndarray(format="rgb24", width=w, height=h)

    # ----------------------------------------------------------------- frame count
    def _initial_count(self) -> int:
        """Frames that decode: the demux-only packet count, checked by decoding the tail when the header disagrees.

        A truncated file keeps the header of the whole clip; its length is corrected here, at open, and
        ``notes`` says so ("header says 12 frames, 3 decode"), instead of failing mid-run.
        """
        header = int(self._stream.frames or 0)
        self._len = header
        self._ensure_index()
        if header > 0 and self._index.count != header:
            decodable = self._probe_tail()
            if decodable < self._index.count:
                self._index = PacketIndex(self._index.pts[:decodable] if self._index.pts else None,
                                          [k for k in self._index.keyframe_pts
                                           if self._index.pts and k <= self._index.pts[decodable - 1]],
                                          decodable)
                self._len = decodable
            if self._len < header:
                self.notes.append(f"{self.path.name}: header says {header} frames, {self._len} decode; "
                                  f"using those {self._len}")
        return self._len

    def _probe_tail(self) -> int:
        """Count the frames that decode: from the last keyframe to the end, on a second decoder."""
        index = self._index
        start, target = 0, None
        if index.pts is not None and index.keyframe_pts:
            target = index.keyframe_pts[-1]
            start = index.index_of(target) or 0
        decoded = 0
        try:
            with _av().open(str(self.path)) as container:
                stream = container.streams.video[0]
                if target is not None and start > 0:
                    container.seek(target, stream=stream, backward=True, any_frame=False)
                for _ in container.decode(stream):
                    decoded += 1
        except _av_errors():
            pass  # a damaged tail ends the count where decoding stopped
        return max(1, start + decoded)

    def _ensure_index(self) -> None:
        if self._index is not None:
            return
        try:
            self._index = build_packet_index(self.path)
        except _av_errors() as exc:
            raise FrameSourceError(f"cannot index video {self.path}: {_reason(exc)}") from exc
        if self._index.count <= 0:
            raise FrameSourceError(f"video {self.path} has no frames")
        self._len = self._index.count


def _duration_estimate(stream: av.video.stream.VideoStream) -> int | None:
    """Frame count implied by the stream duration and average rate, if both are known."""
    if not stream.duration or not stream.average_rate or not stream.time_base:
        return None
    return round(float(stream.duration * stream.time_base * stream.average_rate))


def _reason(exc: BaseException) -> str:
    """A short one-line reason for an exception."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text
