"""Matte maths, timecode and export naming on tiny arrays (Qt-free)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.export import ExportJob, Format, frame_stems, run_export
from app.matte import EdgeSettings, MatteSource, edge_band, feather, grow_shrink, object_alpha, spatial_matte, to_u8
from app.timecode import Timecode, parse_start, probe


def _square(size: int = 21, lo: int = 7, hi: int = 14, value: int = 1) -> np.ndarray:
    m = np.zeros((size, size), np.uint8)
    m[lo:hi, lo:hi] = value
    return m


def test_object_alpha_selects_objects() -> None:
    m = _square()
    m[0:3, 0:3] = 2
    a = object_alpha(m, [2], m.shape)
    assert a.dtype == np.float32 and a.sum() == 9 and a[7:14, 7:14].sum() == 0
    assert object_alpha(None, [1], (4, 5)).shape == (4, 5)
    assert object_alpha(m, [], m.shape).sum() == 0


def test_grow_and_shrink_move_the_edge_by_pixels() -> None:
    a = object_alpha(_square(), [1], (21, 21))  # 7×7 square
    grown = grow_shrink(a, 2)
    shrunk = grow_shrink(a, -2)
    assert grown[10, 5] == 1 and grown[10, 4] == 0  # the edge moved out by exactly 2 px on a side
    assert shrunk[10, 9] == 1 and shrunk[10, 8] == 0  # and in by 2 px
    assert shrunk.sum() == 9 and grow_shrink(a, 0) is a


def test_feather_is_soft_symmetric_and_keeps_mass() -> None:
    a = object_alpha(_square(41, 10, 31), [1], (41, 41))
    f = feather(a, 4)
    assert 0.3 < f[20, 10] < 0.7  # on the edge: about half
    assert f[20, 20] > 0.99 and f[20, 2] < 0.01  # far inside / outside unchanged
    assert np.allclose(f, f[::-1, ::-1], atol=1e-6)
    assert abs(f.sum() - a.sum()) / a.sum() < 0.01
    assert len(np.unique(to_u8(f))) > 10  # a real gradient, not 0/255


def test_spatial_matte_identity_is_the_hard_mask() -> None:
    m = _square()
    out = spatial_matte(m, [1], m.shape, EdgeSettings())
    assert np.array_equal(to_u8(out), (m > 0).astype(np.uint8) * 255)


def test_temporal_smoothing_only_at_the_edge() -> None:
    """A boundary that flickers by one pixel between frames is averaged; the interior is not ghosted."""
    masks = [_square(21, 7, 14 + (f % 2)) for f in range(5)]
    src = MatteSource(lambda f: masks[f], (21, 21), 5, [1], EdgeSettings(temporal=1))
    a = src.alpha(2)  # frames 1 and 3 have the wider square
    assert 0.6 < a[10, 14] < 0.7  # flickering column: 2 of 3 frames
    assert a[10, 10] == 1.0 and a[0, 0] == 0.0
    band = edge_band(object_alpha(masks[2], [1], (21, 21)), 2)
    assert band[10, 13] and not band[10, 10]
    assert np.array_equal(MatteSource(lambda f: masks[f], (21, 21), 5, [1], EdgeSettings()).alpha(2),
                          object_alpha(masks[2], [1], (21, 21)))
    # first frame of the clip: only the frame after it is a neighbour; a frame without a mask is empty
    assert 0.4 < src.alpha(0)[10, 14] < 0.6
    none = MatteSource(lambda f: None, (3, 3), 2, [1], EdgeSettings(temporal=2))
    assert none.alpha(1).sum() == 0


def test_timecode_format_and_parse() -> None:
    tc = Timecode(24.0, start=parse_start("01:00:10:05", 24.0).start, from_container=True)
    assert tc.format(0) == "01:00:10:05" and tc.format(19) == "01:00:11:00"
    assert tc.parse("01:00:11:00") == 19 and tc.parse("19") == 19 and tc.parse("nope") is None
    assert tc.parse("01:00:10:24") is None  # no frame 24 at 24 fps
    assert tc.file_stem(0) == "01_00_10_05"
    df = parse_start("00:00:59;29", 30000 / 1001)
    assert df.drop_frame and df.format(1) == "00:01:00;02"  # frames ;00 and ;01 are skipped
    assert df.parse("00:01:00;02") == 1
    for f in (0, 1799, 1800, 17981, 17982, 107892):
        assert df.parse(df.format(f)) == f
    assert Timecode(25.0).format(25 * 3600 + 3) == "01:00:00:03"


def test_probe_reads_container_timecode(tmp_path: Path) -> None:
    import av

    path = tmp_path / "tc.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 32, 16, "yuv420p"
        s.metadata["timecode"] = "10:00:00:12"
        for _ in range(3):
            for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((16, 32, 3), np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    tc = probe(path)
    assert tc is not None and tc.from_container and tc.fps == pytest.approx(24)
    assert tc.format(1) == "10:00:00:13"
    assert probe(tmp_path) is None  # a folder has no timecode
    assert frame_stems(2, timecode=tc) == ["10_00_00_12", "10_00_00_13"]
    assert frame_stems(2, ["a_001", "a_002"], tc) == ["a_001", "a_002"]
    assert frame_stems(2) == ["000000", "000001"]


def test_export_matte_selected_objects_edges_and_names(tmp_path: Path) -> None:
    size = (21, 21)
    mask = _square()
    mask[0:4, 0:4] = 2
    rgb = np.full((*size, 3), 200, np.uint8)
    job = ExportJob(out_dir=tmp_path, formats=[Format.ALPHA, Format.RGBA, Format.PALETTE], objects=[1, 2],
                    names={1: "a", 2: "b"}, frames=[0], matte_objects=[1], edge=EdgeSettings(grow=1, feather=2),
                    stems=["shot_0101"], n_frames=1)
    run_export(job, lambda f: rgb, lambda f: mask, size)
    alpha = np.asarray(Image.open(tmp_path / "alpha" / "shot_0101.png"))
    assert alpha[1, 1] == 0  # object 2 is not in the matte
    assert alpha[10, 10] == 255 and 0 < alpha[10, 6] < 255  # soft, grown edge
    rgba = np.asarray(Image.open(tmp_path / "rgba" / "shot_0101.png"))
    assert np.array_equal(rgba[..., 3], alpha)
    palette = np.asarray(Image.open(tmp_path / "palette" / "shot_0101.png"))
    assert np.array_equal(palette, mask)  # index masks keep every exported object, hard
