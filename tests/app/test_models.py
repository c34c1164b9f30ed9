"""Qt-free parts: mask store, undo history, propagation plans, rendering, tools, export, workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.engine.plan import Mode, PlanError, make_plan
from app.export import ExportJob, Format, run_export
from app.maskio import load_mask
from app.model.annotation import AnnotationModel
from app.model.masks import MaskStore
from app.paths import default_weights
from app.render import OverlayMode, composite
from app.tools import ops


def _model(tmp_path: Path, n: int = 10) -> AnnotationModel:
    frames = [np.full((20, 30, 3), i * 10, np.uint8) for i in range(n)]
    m = AnnotationModel(frames, MaskStore(tmp_path / "masks", (20, 30), cache_frames=3))
    m.objects.add("a")
    return m


def test_mask_store_bounded_cache_and_disk(tmp_path: Path) -> None:
    store = MaskStore(tmp_path, (20, 30), cache_frames=3)
    for f in range(8):
        store.set(f, np.full((20, 30), f % 3, np.uint8))
    assert store.cached_count() == 3
    assert store.frames() == list(range(8))
    again = MaskStore(tmp_path, (20, 30))
    assert np.all(again.get(5) == 2)
    with pytest.raises(ValueError):
        store.set(0, np.zeros((5, 5), np.uint8))


def test_undo_redo_strokes_and_runs(tmp_path: Path) -> None:
    m = _model(tmp_path)
    a = np.zeros((20, 30), np.uint8)
    a[2:8, 2:8] = 1
    m.commit_edit(0, a, "Brush")
    assert m.is_keyframe(0)
    step = m.begin_run()
    assert not m.history.can_undo()  # an open run cannot be undone
    for f in range(1, 5):
        m.record_run_frame(step, f, a)
    assert not m.record_run_frame(step, 0, a * 0)  # keyframes are never overwritten
    m.end_run(step)
    assert m.masks.frames() == [0, 1, 2, 3, 4]
    m.undo()
    assert m.masks.frames() == [0]
    m.undo()
    assert m.masks.frames() == [] and not m.keyframes
    m.redo()
    m.redo()
    assert m.masks.frames() == [0, 1, 2, 3, 4] and m.keyframes == {0}


def test_plans() -> None:
    assert make_plan(Mode.FORWARD, 3, 10, {3}, {3})[0].start == 3
    p = make_plan(Mode.FORWARD, 6, 10, {3, 4}, {3})
    assert p[0].start == 3  # resumes from the keyframe behind
    with pytest.raises(PlanError):
        make_plan(Mode.BACKWARD, 5, 10, {3}, {3})
    r = make_plan(Mode.RANGE, 5, 10, {4}, {4}, 2, 7)
    assert [(x.start, x.direction, x.stop) for x in r] == [(4, 1, 7), (4, -1, 2)]
    nk = make_plan(Mode.NEXT_KEYFRAME, 0, 10, {0, 6}, {0, 6})[0]
    assert nk.stop_at_keyframe and nk.length(10, {0, 6}) == 6


@pytest.mark.parametrize("mode", list(OverlayMode))
def test_render_modes(mode: OverlayMode) -> None:
    img = np.full((20, 30, 3), 100, np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 5:15] = 1
    mask[0:3, 20:30] = 2
    out = composite(img, mask, mode, 0.5, visible=[1], selected=1)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    if mode in (OverlayMode.MASK, OverlayMode.GREEN):
        assert not np.array_equal(out[1, 25], out[10, 10])


def test_tools() -> None:
    m = np.zeros((50, 50), np.uint8)
    layer = ops.stroke_layer(m.shape, [(10, 10), (40, 10)], 6)
    m = ops.apply_layer(m, layer, 2)
    assert (m == 2).sum() > 150
    m = ops.apply_layer(m, ops.stroke_layer(m.shape, [(25, 10)], 10), 2, erase=True)
    assert m[10, 25] == 0
    poly = ops.polygon_layer(m.shape, [(5, 20), (45, 20), (45, 45), (5, 45)])
    ring = ops.apply_layer(np.zeros_like(m), poly & ~ops.polygon_layer(m.shape, [(15, 30), (35, 30), (35, 40),
                                                                                    (15, 40)]), 1)
    filled = ops.flood_fill(ring, (25, 35), 1)
    assert filled[35, 25] == 1 and filled[2, 2] == 0
    img = np.zeros((80, 80, 3), np.uint8)
    img[20:60, 20:60] = (230, 30, 30)
    img += np.random.default_rng(0).integers(0, 20, img.shape).astype(np.uint8)
    g = ops.grabcut(img, np.zeros((80, 80), np.uint8), (12, 12, 68, 68), 1)
    assert 900 < (g == 1).sum() < 2500


def test_export_all_formats(tmp_path: Path) -> None:
    frames = {i: np.full((20, 30, 3), 50 + i, np.uint8) for i in range(4)}
    masks = {i: np.pad(np.full((10, 10), 1 + i % 2, np.uint8), ((5, 5), (10, 10))) for i in range(4)}
    job = ExportJob(tmp_path, list(Format), [1, 2], {1: "car", 2: "dog"}, [1, 2, 3])
    run_export(job, frames.__getitem__, masks.get, (20, 30))
    assert np.array_equal(load_mask(tmp_path / "palette" / "000002.png"), masks[2])
    assert sorted(p.name for p in (tmp_path / "binary").iterdir()) == ["001_car", "002_dog"]
    assert np.asarray(Image.open(tmp_path / "binary" / "002_dog" / "000003.png")).max() == 255
    alpha = np.asarray(Image.open(tmp_path / "alpha" / "000001.png"))
    assert alpha[10, 15] == 255 and alpha[0, 0] == 0
    rgba = np.asarray(Image.open(tmp_path / "rgba" / "000001.png"))
    assert rgba.shape == (20, 30, 4) and rgba[10, 15, 3] == 255
    import av

    with av.open(str(tmp_path / "overlay.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 3
    with av.open(str(tmp_path / "cutout_alpha.mov")) as c:
        st = c.streams.video[0]
        assert st.codec_context.name == "prores" and "yuva" in st.codec_context.pix_fmt
        frames_back = [f.to_ndarray(format="rgba") for f in c.decode(video=0)]
    assert len(frames_back) == 3 and frames_back[0][10, 15, 3] > 200 and frames_back[0][0, 0, 3] < 20


def test_default_weights_picks_newest(tmp_path: Path) -> None:
    import os

    assert default_weights(tmp_path) is None
    (tmp_path / "a.pth").write_bytes(b"1")
    (tmp_path / "b.pth").write_bytes(b"2")
    os.utime(tmp_path / "a.pth", (2e9, 2e9))
    assert default_weights(tmp_path).name == "a.pth"
