"""Exporters for compositing software (Qt-free): palette PNGs, per-object binary PNGs, alpha mattes,
RGBA cutouts, overlay mp4, and a video with alpha (ProRes 4444 .mov).

Alpha, RGBA and ProRes carry the matte of the chosen objects with the edge controls of `app.matte` (grow/shrink,
feather, temporal smoothing). File names follow the source: frame-folder stems, the container's timecode for
videos that have one (01_00_10_05.png), else the zero-padded frame number."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
from PIL import Image

from app.atomic import atomic_write_bytes
from app.maskio import encode_palette_png
from app.matte import EdgeSettings, MatteSource, to_u8
from app.render import OverlayMode, composite
from app.timecode import Timecode


class Format(StrEnum):
    PALETTE = "palette"
    BINARY = "binary"
    ALPHA = "alpha"
    RGBA = "rgba"
    OVERLAY_MP4 = "overlay_mp4"
    PRORES = "prores"


FORMAT_LABELS = {
    Format.PALETTE: "Palette PNG sequence (DAVIS)",
    Format.BINARY: "Per-object binary PNGs",
    Format.ALPHA: "Alpha-matte PNG sequence",
    Format.RGBA: "RGBA cutout PNGs",
    Format.OVERLAY_MP4: "Overlay video (mp4, H.264)",
    Format.PRORES: "Video with alpha (ProRes 4444 .mov)",
}


class ExportCancelledError(Exception):
    """The user cancelled the export."""


@dataclass
class ExportJob:
    """What to export. `objects` are the ids exported (visible ones by default); `matte_objects` the ids in the
    alpha / RGBA / ProRes matte (default: `objects`), shaped by `edge`. `stems[f]` names frame f's files
    (default: zero-padded frame numbers); frames without masks are exported as empty (all background)."""

    out_dir: Path
    formats: Sequence[Format]
    objects: Sequence[int]
    names: dict[int, str]
    frames: Sequence[int]
    fps: float = 25.0
    opacity: float = 0.5
    matte_objects: Sequence[int] | None = None
    edge: EdgeSettings = EdgeSettings()
    stems: Sequence[str] | None = None
    n_frames: int = 0  # frames in the clip (temporal smoothing stays inside it); 0: last exported frame + 1

    def name(self, frame: int) -> str:
        """File stem of `frame`'s exported images."""
        return self.stems[frame] if self.stems is not None else frame_name(frame)


def _png(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def frame_name(frame: int) -> str:
    """Source frame number, zero padded (e.g. 000042)."""
    return f"{frame:06d}"


def frame_stems(n_frames: int, source_names: Sequence[str] | None = None,
                timecode: Timecode | None = None) -> list[str]:
    """Export file stems: the source's frame stems (frame folders), else the container timecode (videos with one),
    else zero-padded frame numbers."""
    if source_names is not None:
        return list(source_names)
    if timecode is not None and timecode.from_container:
        return [timecode.file_stem(f) for f in range(n_frames)]
    return [frame_name(f) for f in range(n_frames)]


def safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_") or "object"


def run_export(job: ExportJob, get_frame: Callable[[int], np.ndarray], get_mask: Callable[[int], np.ndarray | None],
               size: tuple[int, int], progress: Callable[[int, int], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> list[Path]:
    """Write every requested format; returns the folders/files written. Raises OSError (e.g. disk full)."""
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmts = [Format(f) for f in job.formats]
    keep = np.zeros(256, bool)
    keep[list(job.objects)] = True
    keep[0] = False
    written: list[Path] = []
    dirs = {f: out / f.value for f in fmts if f not in (Format.OVERLAY_MP4, Format.PRORES)}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
        written.append(d)
    videos = {}
    if Format.OVERLAY_MP4 in fmts:
        videos[Format.OVERLAY_MP4] = _VideoWriter(out / "overlay.mp4", size, job.fps, alpha=False)
        written.append(out / "overlay.mp4")
    if Format.PRORES in fmts:
        videos[Format.PRORES] = _VideoWriter(out / "cutout_alpha.mov", size, job.fps, alpha=True)
        written.append(out / "cutout_alpha.mov")
    total = len(job.frames)
    n_frames = job.n_frames or (max(job.frames) + 1 if len(job.frames) else 0)
    matte_ids = job.objects if job.matte_objects is None else job.matte_objects
    matte = MatteSource(get_mask, size, n_frames, matte_ids, job.edge)
    need_alpha = any(x in fmts for x in (Format.ALPHA, Format.RGBA, Format.PRORES))
    try:
        for i, f in enumerate(job.frames):
            if cancelled is not None and cancelled():
                raise ExportCancelledError()
            raw = get_mask(f)
            mask = np.zeros(size, np.uint8) if raw is None else np.where(keep[raw], raw, 0).astype(np.uint8)
            name = job.name(f)
            need_rgb = any(x in fmts for x in (Format.RGBA, Format.OVERLAY_MP4, Format.PRORES))
            rgb = get_frame(f) if need_rgb else None
            alpha = to_u8(matte.alpha(f)) if need_alpha else None
            if Format.PALETTE in fmts:
                atomic_write_bytes(dirs[Format.PALETTE] / f"{name}.png", encode_palette_png(mask))
            if Format.BINARY in fmts:
                for obj in job.objects:
                    sub = dirs[Format.BINARY] / f"{obj:03d}_{safe(job.names.get(obj, str(obj)))}"
                    sub.mkdir(exist_ok=True)
                    img = Image.fromarray(((mask == obj) * 255).astype(np.uint8), mode="L")
                    atomic_write_bytes(sub / f"{name}.png", _png(img))
            if Format.ALPHA in fmts:
                atomic_write_bytes(dirs[Format.ALPHA] / f"{name}.png", _png(Image.fromarray(alpha, mode="L")))
            if Format.RGBA in fmts:
                rgba = np.dstack([rgb, alpha])
                atomic_write_bytes(dirs[Format.RGBA] / f"{name}.png", _png(Image.fromarray(rgba, mode="RGBA")))
            if Format.OVERLAY_MP4 in videos:
                videos[Format.OVERLAY_MP4].write(composite(rgb, mask, OverlayMode.BLEND, job.opacity))
            if Format.PRORES in videos:
                videos[Format.PRORES].write(np.dstack([rgb, alpha]))
            if progress is not None:
                progress(i + 1, total)
    finally:
        for v in videos.values():
            v.close()
    return written


class _VideoWriter:
    """PyAV writer: H.264 yuv420p for the overlay, ProRes 4444 (yuva444p10le) for alpha."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, alpha: bool) -> None:
        from fractions import Fraction

        import av

        self.path = path
        self.tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
        self.container = av.open(str(self.tmp), mode="w")
        h, w = size
        rate = Fraction(fps).limit_denominator(1001)
        if alpha:
            self.stream = self.container.add_stream("prores_ks", rate=rate)
            self.stream.pix_fmt = "yuva444p10le"
            self.stream.options = {"profile": "4444"}
            self.fmt = "rgba"
        else:
            self.stream = self.container.add_stream("libx264", rate=rate)
            self.stream.pix_fmt = "yuv420p"
            self.stream.options = {"crf": "18", "preset": "veryfast"}
            self.fmt = "rgb24"
            h, w = h - h % 2, w - w % 2
        self.stream.width, self.stream.height = w, h
        self.size = (h, w)
        self._ok = False

    def write(self, img: np.ndarray) -> None:
        import av

        h, w = self.size
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:h, :w]), format=self.fmt)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self._ok = True

    def close(self) -> None:
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()
        if self._ok:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)
