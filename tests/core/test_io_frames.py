"""Frame sources: folders and videos (lazy, random access == sequential decode, names, errors)."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from xmem_core.io.frames import FolderSource, FrameSourceError, VideoSource, natural_key, open_frames

N, H, W = 40, 48, 64


def _frame(i: int) -> np.ndarray:
    """A frame whose left half encodes its index (robust to lossy coding)."""
    a = np.zeros((H, W, 3), np.uint8)
    a[:, : W // 2] = (i * 6) % 256
    a[:, W // 2:, 1] = 128
    return a


def _write_video(path: Path, codec: str = "libx264", n: int = N) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.gop_size = 8
        for i in range(n):
            for packet in stream.encode(av.VideoFrame.from_ndarray(_frame(i), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _level(arr: np.ndarray) -> int:
    return int(round(float(arr[:, : W // 2].mean()) / 6))


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    return _write_video(tmp_path_factory.mktemp("vid") / "clip.mp4", codec)


class CountingVideo(VideoSource):
    """Counts decoded frames and seeks."""

    def __init__(self, path: Path) -> None:
        self.decoded = 0
        self.seeks = 0
        super().__init__(path)

    def _next_frame(self):  # noqa: ANN202
        self.decoded += 1
        return super()._next_frame()

    def _seek_before(self, index: int) -> None:
        self.seeks += 1
        super()._seek_before(index)


def test_video_basic(mp4: Path) -> None:
    with open_frames(mp4) as src:
        assert isinstance(src, VideoSource)
        assert len(src) == N and src.size == (H, W)
        assert src.names[:2] == ["00000", "00001"] and src.names[-1] == f"{N - 1:05d}"
        frame = src[3]
        assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
        assert _level(src[-1]) == N - 1
        with pytest.raises(IndexError):
            src[N]


def test_video_open_is_lazy_and_sequential_does_not_seek(mp4: Path) -> None:
    src = CountingVideo(mp4)
    assert src.decoded == 1
    levels = [_level(src[i]) for i in range(N)]
    assert levels == list(range(N))
    assert src.seeks == 0 and src.decoded == N


def test_video_random_access_matches_sequential(mp4: Path) -> None:
    seq = [f for f in open_frames(mp4)]
    src = CountingVideo(mp4)
    src._cache.max_items = 1
    order = np.random.default_rng(0).permutation(list(range(N)) * 2)
    for i in order:
        np.testing.assert_array_equal(src[int(i)], seq[int(i)])
    assert src.seeks > 0
    assert src.decoded < 2 * N * 8  # seeks to keyframes, not from the start every time


def test_video_returns_copies(mp4: Path) -> None:
    src = open_frames(mp4)
    a = src[5]
    a[:] = 0
    assert _level(src[5]) == 5


def test_video_threads_read_consistently(mp4: Path) -> None:
    ref = [f for f in open_frames(mp4)]
    src = open_frames(mp4)
    src._cache.max_items = 2
    errors: list[str] = []

    def worker(seed: int) -> None:
        for i in np.random.default_rng(seed).integers(0, N, 25):
            if not np.array_equal(src[int(i)], ref[int(i)]):
                errors.append(f"frame {i}")

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_video_without_header_count(tmp_path: Path) -> None:
    path = _write_video(tmp_path / "clip.mkv", "libvpx-vp9" if "libvpx-vp9" in av.codecs_available else "mpeg4", 20)
    src = open_frames(path)
    assert len(src) == 20
    assert [_level(src[i]) for i in (19, 0, 10)] == [19, 0, 10]


def test_video_overstated_length_is_corrected(mp4: Path) -> None:
    src = open_frames(mp4)
    src._len = N + 5  # as if the container header lied
    with pytest.raises(IndexError):
        src[N + 2]
    assert len(src) == N
    assert src.count_frames() == N


def test_video_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 50)
    with pytest.raises(FrameSourceError, match="bad.mp4"):
        open_frames(bad)
    with pytest.raises(FrameSourceError, match="no such file"):
        open_frames(tmp_path / "missing.mp4")
    odd = tmp_path / "clip.gif"
    odd.write_bytes(b"GIF89a")
    with pytest.raises(FrameSourceError, match="unsupported"):
        open_frames(odd)


def _write_folder(folder: Path, names: list[str], sizes: dict[str, tuple[int, int]] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        h, w = (sizes or {}).get(name, (H, W))
        Image.fromarray(np.full((h, w, 3), k * 10, np.uint8)).save(folder / name)


def test_folder_natural_sort_and_names(tmp_path: Path) -> None:
    names = ["f10.png", "f2.png", "f1.png", "notes.txt"]
    _write_folder(tmp_path / "frames", [n for n in names if n.endswith(".png")])
    (tmp_path / "frames" / "notes.txt").write_text("x")
    src = open_frames(tmp_path / "frames")
    assert isinstance(src, FolderSource)
    assert src.names == ["f1", "f2", "f10"]
    assert len(src) == 3 and src.size == (H, W)
    assert int(src[0][0, 0, 0]) == 20  # f1.png was written third
    assert sorted(["a10", "a9", "A1"], key=natural_key) == ["A1", "a9", "a10"]


def test_folder_size_mismatch_names_offender(tmp_path: Path) -> None:
    _write_folder(tmp_path / "f", ["00000.jpg", "00001.jpg"], {"00001.jpg": (40, 64)})
    with pytest.raises(FrameSourceError, match="00001.jpg"):
        open_frames(tmp_path / "f")  # every header is checked at open, before any mask is written


def test_folder_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FrameSourceError, match="no .jpg"):
        open_frames(tmp_path / "empty")
    _write_folder(tmp_path / "dup", ["00000.jpg", "00000.png"])
    with pytest.raises(FrameSourceError, match="00000"):
        open_frames(tmp_path / "dup")
    _write_folder(tmp_path / "one", ["00000.png"])
    with pytest.raises(FrameSourceError, match="single image"):
        open_frames(tmp_path / "one" / "00000.png")
