"""Masks: palette round trip and the grayscale / RGB reading rules; atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xmem_core.io.atomic import atomic_save, atomic_write_bytes
from xmem_core.io.masks import DAVIS_PALETTE, MaskError, read_mask, write_mask


def _index_mask() -> np.ndarray:
    m = np.zeros((30, 40), np.uint8)
    m[2:10, 3:12] = 1
    m[12:20, 20:35] = 2
    m[22:28, 5:9] = 7
    return m


def test_palette_is_davis() -> None:
    pal = np.frombuffer(DAVIS_PALETTE, np.uint8).reshape(256, 3)
    assert len(DAVIS_PALETTE) == 768
    assert pal[:5].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128]]
    assert pal[255].tolist() == [224, 224, 192]


def test_round_trip_keeps_ids_and_palette(tmp_path: Path) -> None:
    m = _index_mask()
    write_mask(tmp_path / "sub" / "m.png", m)
    with Image.open(tmp_path / "sub" / "m.png") as img:
        assert img.mode == "P"
        assert bytes(img.getpalette()[:768]) == DAVIS_PALETTE
    np.testing.assert_array_equal(read_mask(tmp_path / "sub" / "m.png"), m)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["m.png"]  # no temp files left


def test_write_mask_accepts_bool_and_rejects_bad(tmp_path: Path) -> None:
    write_mask(tmp_path / "b.png", np.eye(5, dtype=bool))
    assert read_mask(tmp_path / "b.png").tolist() == np.eye(5, dtype=np.uint8).tolist()
    with pytest.raises(MaskError):
        write_mask(tmp_path / "c.png", np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(MaskError):
        write_mask(tmp_path / "d.png", np.full((2, 2), 300))


def _save(path: Path, arr: np.ndarray, mode: str | None = None) -> Path:
    Image.fromarray(arr, mode).save(path) if mode else Image.fromarray(arr).save(path)
    return path


def test_grayscale_binary_0_255(tmp_path: Path) -> None:
    g = (_index_mask() > 0).astype(np.uint8) * 255
    out = read_mask(_save(tmp_path / "g.png", g))
    assert set(np.unique(out)) == {0, 1}
    np.testing.assert_array_equal(out, g // 255)


def test_grayscale_index_image(tmp_path: Path) -> None:
    np.testing.assert_array_equal(read_mask(_save(tmp_path / "i.png", _index_mask())), _index_mask())
    only2 = (_index_mask() == 2).astype(np.uint8) * 2
    np.testing.assert_array_equal(read_mask(_save(tmp_path / "j.png", only2)), only2)  # {0, 2} keeps id 2
    assert read_mask(_save(tmp_path / "z.png", np.zeros((4, 4), np.uint8))).max() == 0


def test_antialiased_grayscale_is_one_object(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:64, 0:64]
    soft = np.clip((20 - np.hypot(yy - 32, xx - 32)) * 40 + 128, 0, 255).astype(np.uint8)
    assert len(np.unique(soft)) > 32
    out = read_mask(_save(tmp_path / "soft.png", soft))
    assert set(np.unique(out)) == {0, 1}
    np.testing.assert_array_equal(out, (soft >= 128).astype(np.uint8))


def test_rgb_palette_colours_map_to_ids(tmp_path: Path) -> None:
    pal = np.frombuffer(DAVIS_PALETTE, np.uint8).reshape(256, 3)
    m = _index_mask()
    np.testing.assert_array_equal(read_mask(_save(tmp_path / "rgb.png", pal[m])), m)
    grey = np.repeat(((m > 0) * 255).astype(np.uint8)[..., None], 3, axis=2)
    np.testing.assert_array_equal(read_mask(_save(tmp_path / "grey.png", grey)), (m > 0).astype(np.uint8))
    odd = np.zeros((10, 10, 3), np.uint8)
    odd[:5] = (10, 200, 30)
    odd[7:] = (250, 100, 5)
    out = read_mask(_save(tmp_path / "odd.png", odd))
    assert set(np.unique(out[:5])) == {1} and set(np.unique(out[7:])) == {2} and out[5:7].max() == 0


def test_antialiased_rgb_and_alpha(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:64, 0:64]
    soft = np.clip((20 - np.hypot(yy - 32, xx - 32)) * 40 + 128, 0, 255).astype(np.uint8)
    rgb = np.stack([soft, soft // 2, soft // 3], -1)
    assert set(np.unique(read_mask(_save(tmp_path / "s.png", rgb)))) == {0, 1}
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = (soft > 128) * 255
    np.testing.assert_array_equal(read_mask(_save(tmp_path / "a.png", rgba, "RGBA")), (soft > 128).astype(np.uint8))


def test_size_check_and_missing(tmp_path: Path) -> None:
    write_mask(tmp_path / "m.png", _index_mask())
    assert read_mask(tmp_path / "m.png", size=(30, 40)).shape == (30, 40)
    with pytest.raises(MaskError, match="30x40.*40x30"):
        read_mask(tmp_path / "m.png", size=(40, 30))
    with pytest.raises(MaskError, match="not found"):
        read_mask(tmp_path / "nope.png")
    (tmp_path / "junk.png").write_bytes(b"junk")
    with pytest.raises(MaskError, match="cannot read"):
        read_mask(tmp_path / "junk.png")


def test_atomic_write_replaces_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"

    def boom(fh: object) -> None:
        fh.write(b"partial")  # type: ignore[attr-defined]
        raise RuntimeError("fail")

    with pytest.raises(RuntimeError):
        atomic_save(target, boom)
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    assert target.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0o600
