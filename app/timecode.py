"""SMPTE timecode of a clip (Qt-free): the container's frame rate and start timecode, formatting and parsing.

Frame index 0 is the first decoded frame; its timecode is the container's start timecode (00:00:00:00 when the
container has none). 29.97 and 59.94 fps clips whose start timecode is written with ';' use drop-frame counting.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

_TC = re.compile(r"^\s*(\d{1,2})[:;.](\d{1,2})[:;.](\d{1,2})([:;.])(\d{1,3})\s*$")


@dataclass(frozen=True)
class Timecode:
    """Frame rate and start of a clip's timecode."""

    fps: float  # container frame rate (frames per second)
    start: int = 0  # start timecode as a frame count (frame index 0 shows this)
    drop_frame: bool = False  # 29.97/59.94 drop-frame counting (';' before the frames field)
    from_container: bool = False  # the start came from the file (not the 00:00:00:00 default)

    @property
    def base(self) -> int:
        """Frames per timecode second (30 for 29.97)."""
        return max(1, round(self.fps))

    # ---- drop-frame conversion between frame counts and displayed fields ----
    def _drops(self) -> int:
        return 2 * (self.base // 30) if self.drop_frame else 0

    def _count_to_fields(self, count: int) -> tuple[int, int, int, int]:
        base, drop = self.base, self._drops()
        if drop:
            per10 = base * 600 - drop * 9  # frames in ten minutes
            per1 = base * 60 - drop  # frames in a minute that drops
            tens, rem = divmod(count, per10)
            extra = 0 if rem < drop else drop * ((rem - drop) // per1)
            count += drop * 9 * tens + extra
        ff = count % base
        s = count // base
        return (s // 3600) % 24, (s // 60) % 60, s % 60, ff

    def _fields_to_count(self, hh: int, mm: int, ss: int, ff: int) -> int:
        base, drop = self.base, self._drops()
        total_min = 60 * hh + mm
        count = ((hh * 3600 + mm * 60 + ss) * base) + ff
        return count - drop * (total_min - total_min // 10)

    # ---- public ----
    def format(self, frame: int) -> str:
        """Timecode shown for frame index `frame`, e.g. 01:00:10:05 (01:00:10;05 drop-frame)."""
        hh, mm, ss, ff = self._count_to_fields(self.start + int(frame))
        sep = ";" if self.drop_frame else ":"
        return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"

    def file_stem(self, frame: int) -> str:
        """Timecode safe for a file name: 01_00_10_05."""
        return self.format(frame).replace(":", "_").replace(";", "_")

    def parse(self, text: str) -> int | None:
        """Frame index from a frame number ("42") or a timecode ("01:00:10:05"); None if it is neither."""
        text = text.strip()
        if re.fullmatch(r"\d+", text):
            return int(text)
        m = _TC.match(text)
        if m is None:
            return None
        hh, mm, ss, ff = (int(m.group(i)) for i in (1, 2, 3, 5))
        if mm >= 60 or ss >= 60 or ff >= self.base:
            return None
        return self._fields_to_count(hh, mm, ss, ff) - self.start


def parse_start(tc: str, fps: float) -> Timecode | None:
    """A `Timecode` from a container's start timecode string, or None if it is not one."""
    m = _TC.match(tc or "")
    if m is None or not fps or fps <= 0:
        return None
    df = m.group(4) == ";" and round(fps) in (30, 60) and abs(fps - round(fps)) > 1e-3
    base = Timecode(fps, 0, df, True)
    hh, mm, ss, ff = (int(m.group(i)) for i in (1, 2, 3, 5))
    if mm >= 60 or ss >= 60 or ff >= base.base:
        return None
    return Timecode(fps, base._fields_to_count(hh, mm, ss, ff), df, True)


def probe(path: str | os.PathLike[str]) -> Timecode | None:
    """The timecode of a video file (frame rate + start timecode from any stream or the container), or None
    for a frame folder or a video without a frame rate."""
    if os.path.isdir(path):
        return None
    try:
        import av

        with av.open(str(path)) as c:
            video = next((s for s in c.streams if s.type == "video"), None)
            if video is None or not video.average_rate:
                return None
            fps = float(video.average_rate)
            tags = [c.metadata.get("timecode")] + [s.metadata.get("timecode") for s in c.streams]
    except Exception:  # noqa: BLE001 - a file the probe cannot read simply has no timecode
        return None
    for tc in tags:
        parsed = parse_start(tc or "", fps)
        if parsed is not None:
            return parsed
    return Timecode(fps)


@functools.lru_cache(maxsize=8)
def _probe_cached(path: str, mtime: float) -> Timecode | None:
    return probe(path)


def clip_timecode(path: str | os.PathLike[str]) -> Timecode | None:
    """`probe(path)`, cached per file and modification time (the GUI asks often)."""
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        return None
    return _probe_cached(str(path), mtime)
