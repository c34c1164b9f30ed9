"""The bad-input table of `main.py propagate`: one case per row, shared by the test and by docs/bad_input.md.

`tests/core/test_bad_input.py` runs every case and asserts its exit code, its one `error:` line (or `note:` line)
and that the inputs and earlier outputs are byte-identical afterwards; `python -m tests.core.bad_input_cases`
rewrites docs/bad_input.md from the same list (a test checks the file is up to date).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFilter

from tests.core.tiny import moving_square_clip
from xmem_core.io.masks import DAVIS_PALETTE, write_mask

N, H, W = 12, 48, 64
DOC = Path(__file__).resolve().parents[2] / "docs" / "bad_input.md"


@dataclass
class Kit:
    """What a case builds on: its own folder, the tiny weights, pytest's monkeypatch and a CLI runner."""

    root: Path
    weights: Path
    monkeypatch: pytest.MonkeyPatch
    run: Callable[[list[str]], int]

    def frames(self, name: str = "frames", ext: str = "png", n: int = N) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(moving_square_clip(n, H, W)[0]):
            Image.fromarray(f).save(folder / f"{i:05d}.{ext}")
        return folder

    def mask(self, name: str = "mask.png", ids: np.ndarray | None = None) -> Path:
        path = self.root / name
        write_mask(path, moving_square_clip(1, H, W)[1][0] if ids is None else ids)
        return path

    def image(self, name: str, img: Image.Image) -> Path:
        path = self.root / name
        img.save(path)
        return path

    def video(self, name: str = "clip.mp4", keep: int | None = None) -> Path:
        """An mp4 (mpeg4, index at the front); `keep` cuts the file after that many frames' packets."""
        import av

        path = self.root / name
        with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
            s = c.add_stream("mpeg4", rate=10)
            s.width, s.height, s.pix_fmt = W, H, "yuv420p"
            for f in moving_square_clip(N, H, W)[0]:
                for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        if keep is not None:
            with av.open(str(path)) as c:
                cut = [p.pos for p in c.demux(c.streams.video[0]) if p.size][keep]
            path.write_bytes(path.read_bytes()[:cut])
        return path

    def propagate(self, source: Path, mask: Path, out: Path, *extra: str) -> list[str]:
        return ["propagate", str(source), "--mask", str(mask), "--out", str(out), "--model", str(self.weights),
                "--size", "32", "--threads", "1", "--quiet", *extra]

    def earlier_run(self, source: Path, mask: Path, out: Path) -> None:
        """A previous run of ours into `out` (it records its masks in the manifest)."""
        assert self.run(self.propagate(source, mask, out)) == 0


@dataclass(frozen=True)
class Case:
    """One row: what the user does, what must happen (exit code, message) and what the doc says."""

    id: str
    item: str                    # the issue-16 item the row checks ("ok" for behaviour that was already right)
    does: str                    # what the user does, in words
    build: Callable[[Kit], list[str]]
    code: int                    # expected exit status
    message: str                 # a fragment of the one `error:` line (code 2) or of a `note:` line (code 0)
    outcome: str                 # what happens, in words (docs)
    changes: tuple[str, ...] = ()  # files (relative to the case folder) the run may replace or delete
    partial: bool = False        # an error after writing started: new masks may remain
    check: Callable[[Path], None] | None = field(default=None, compare=False)


def _out_masks(root: Path, out: str = "out") -> list[str]:
    return sorted(p.name for p in (root / out).glob("*.png"))


def _expect_masks(n: int, out: str = "out") -> Callable[[Path], None]:
    def check(root: Path) -> None:
        assert len(_out_masks(root, out)) == n, _out_masks(root, out)
    return check


def _expect_ids(allowed: set[int]) -> Callable[[Path], None]:
    def check(root: Path) -> None:
        first = np.array(Image.open(root / "out" / "00000.png"))
        assert set(np.unique(first).tolist()) <= allowed
    return check


# ---- builders ---------------------------------------------------------------------------------------------------

def _ok_folder(k: Kit) -> list[str]:
    return k.propagate(k.frames(), k.mask(), k.root / "out")


def _ok_video(k: Kit) -> list[str]:
    return k.propagate(k.video(), k.mask(), k.root / "out", "--mask-frame", "4")


def _ok_other_files(k: Kit) -> list[str]:
    out = k.root / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n")
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(out / "00050.png")
    return k.propagate(k.frames(), k.mask(), out)


def _earlier_masks_and_user_files(k: Kit, overwrite: bool) -> list[str]:
    frames, mask, out = k.frames(), k.mask(), k.root / "out"
    longer = k.frames("longer", n=N + 2)  # an earlier run on a longer clip wrote 00012.png and 00013.png too
    k.earlier_run(longer, mask, out)
    (out / "notes.txt").write_text("my notes\n")
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(out / "00050.png")
    return k.propagate(frames, mask, out, *(["--overwrite"] if overwrite else []))


def _removed_only_ours(root: Path) -> None:
    names = _out_masks(root)
    assert names == [f"{i:05d}.png" for i in range(N)] + ["00050.png"], names  # 00012/13 (ours) removed


def _stale_temps(k: Kit) -> list[str]:
    out = k.root / "out"
    out.mkdir()
    (out / ".00003.png.k2j4x9a_.tmp").write_bytes(b"half a png")  # ours: a kill -9 mid-write left it
    (out / ".my-editor-swap.tmp").write_bytes(b"user's")           # not ours: kept
    return k.propagate(k.frames(), k.mask(), out)


def _no_stale_temp(root: Path) -> None:
    assert not (root / "out" / ".00003.png.k2j4x9a_.tmp").exists()
    assert len(_out_masks(root)) == N


def _aa_red(k: Kit) -> list[str]:
    big = Image.new("RGB", (W * 4, H * 4))
    ImageDraw.Draw(big).rectangle((40, 40, 150, 140), fill=(128, 0, 0))  # DAVIS colour 1, edges anti-aliased
    return k.propagate(k.frames(), k.image("aa.png", big.resize((W, H), Image.LANCZOS)), k.root / "out")


def _blurred_red(k: Kit) -> list[str]:
    img = Image.new("RGB", (W, H))
    ImageDraw.Draw(img).ellipse((8, 8, 40, 40), fill=(128, 0, 0))
    return k.propagate(k.frames(), k.image("soft.png", img.filter(ImageFilter.GaussianBlur(3))), k.root / "out")


def _many_colours(k: Kit) -> list[str]:
    a = np.zeros((H * 6, W * 6, 3), np.uint8)
    colours = np.random.default_rng(0).integers(40, 256, (300, 3), dtype=np.uint8)
    for i, c in enumerate(colours):
        y, x = divmod(i, 20)
        a[y * 19 + 1:y * 19 + 18, x * 19 + 1:x * 19 + 18] = c
    frames = k.frames()
    for p in frames.iterdir():  # frames of the mask's size
        Image.fromarray(np.asarray(Image.open(p).resize((W * 6, H * 6)))).save(p)
    return k.propagate(frames, k.image("many.png", Image.fromarray(a)), k.root / "out")


def _sixteen_bit(k: Kit) -> list[str]:
    ids = np.zeros((H, W), np.uint16)
    ids[12:28, 4:20] = 1000
    ids[30:44, 40:60] = 2000
    return k.propagate(k.frames(), k.image("ids16.png", Image.fromarray(ids)), k.root / "out")


def _void_border(k: Kit) -> list[str]:
    ids = np.zeros((H, W), np.uint8)
    ids[10:30, 2:22] = 255
    ids[12:28, 4:20] = 1
    img = Image.fromarray(ids, "P")
    img.putpalette(DAVIS_PALETTE)
    return k.propagate(k.frames(), k.image("void.png", img), k.root / "out")


def _truncated_video(k: Kit) -> list[str]:
    return k.propagate(k.video(keep=3), k.mask(), k.root / "out")


def _out_is_input(k: Kit) -> list[str]:
    frames = k.frames()
    return k.propagate(frames, k.mask(), frames)


def _out_is_jpg_input(k: Kit) -> list[str]:
    frames = k.frames(ext="jpg")
    return k.propagate(frames, k.mask(), frames)


def _out_inside_input(k: Kit) -> list[str]:
    frames = k.frames()
    return k.propagate(frames, k.mask(), frames / "masks")


def _out_contains_input(k: Kit) -> list[str]:
    frames = k.frames("clip/frames")
    return k.propagate(frames, k.mask(), k.root / "clip")


def _foreign_targets(k: Kit) -> list[str]:
    out = k.root / "out"
    out.mkdir()
    for i in range(3):  # the user's own files that happen to carry our names
        Image.fromarray(np.full((H, W), i, np.uint8)).save(out / f"{i:05d}.png")
    return k.propagate(k.frames(), k.mask(), out, "--overwrite")


def _edited_mask(k: Kit) -> list[str]:
    frames, mask, out = k.frames(), k.mask(), k.root / "out"
    k.earlier_run(frames, mask, out)
    edited = out / "00005.png"
    write_mask(edited, np.ones((H, W), np.uint8))  # the user corrected one mask by hand
    os.utime(edited, ns=(1, 1))
    return k.propagate(frames, mask, out, "--overwrite")


def _mask_in_out(k: Kit) -> list[str]:
    frames, out = k.frames(), k.root / "out"
    k.earlier_run(frames, k.mask(), out)
    return k.propagate(frames, out / "00000.png", out, "--overwrite")


def _out_is_file(k: Kit) -> list[str]:
    (k.root / "out").write_text("a file")
    return k.propagate(k.frames(), k.mask(), k.root / "out")


def _out_under_file(k: Kit) -> list[str]:
    (k.root / "out").write_text("a file")
    return k.propagate(k.frames(), k.mask(), k.root / "out" / "masks")


def _read_only(k: Kit) -> list[str]:
    import tempfile

    out, real = k.root / "out", tempfile.mkstemp

    def mkstemp(*args: object, dir: object = None, **kwargs: object) -> tuple[int, str]:  # noqa: A002
        if dir is not None and Path(str(dir)) == out:
            raise OSError(errno.EROFS, "Read-only file system")  # what a read-only mount answers
        return real(*args, dir=dir, **kwargs)  # type: ignore[arg-type]

    k.monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return k.propagate(k.frames(), k.mask(), out)


def _disk_full(k: Kit) -> list[str]:
    import xmem_core.io.masks as masks

    real, calls = masks.atomic_write_bytes, []

    def write(path: object, data: bytes) -> None:
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    k.monkeypatch.setattr(masks, "atomic_write_bytes", write)
    args = k.propagate(k.frames(), k.mask(), k.root / "out")
    return [a for a in args if a != "--quiet"]  # with the progress bar: the error must start its own line


def _size(value: str) -> Callable[[Kit], list[str]]:
    def build(k: Kit) -> list[str]:
        args = k.propagate(k.frames(), k.mask(), k.root / "out")
        args[args.index("--size") + 1] = value
        return args
    return build


def _threads(value: str) -> Callable[[Kit], list[str]]:
    def build(k: Kit) -> list[str]:
        args = k.propagate(k.frames(), k.mask(), k.root / "out")
        args[args.index("--threads") + 1] = value
        return args
    return build


def _odd_size_frame(k: Kit) -> list[str]:
    frames = k.frames()
    Image.fromarray(np.zeros((40, W, 3), np.uint8)).save(frames / "00006.png")
    return k.propagate(frames, k.mask(), k.root / "out")


def _not_an_image(k: Kit) -> list[str]:
    frames = k.frames(ext="jpg")
    (frames / "00006.jpg").write_text("not a jpeg")
    return k.propagate(frames, k.mask(), k.root / "out")


def _weights(name: str, write: Callable[[Path], None]) -> Callable[[Kit], list[str]]:
    def build(k: Kit) -> list[str]:
        path = k.root / name
        write(path)
        args = k.propagate(k.frames(), k.mask(), k.root / "out")
        args[args.index("--model") + 1] = str(path)
        return args
    return build


class _Payload:
    """Unpickling this runs os.system, which would create a marker file beside the weights."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _pickle_payload(path: Path) -> None:
    torch.save({"state_dict": {"w": torch.zeros(1)}, "evil": _Payload(path.parent / "PWNED")}, path)


def _no_payload_ran(root: Path) -> None:
    assert not (root / "PWNED").exists()


def _tiny_state() -> dict[str, torch.Tensor]:
    from tests.core.tiny import tiny_model

    return tiny_model().state_dict()


def _shape_mismatch(path: Path) -> None:
    state = _tiny_state()
    state["decoder.pred.weight"] = torch.cat([state["decoder.pred.weight"]] * 2)
    torch.save(state, path)


def _nan_weights(path: Path) -> None:
    state = _tiny_state()
    state["decoder.pred.weight"] = torch.full_like(state["decoder.pred.weight"], float("nan"))
    torch.save(state, path)


def _missing_input(k: Kit) -> list[str]:
    return k.propagate(k.root / "nope", k.mask(), k.root / "out")


def _empty_mask(k: Kit) -> list[str]:
    return k.propagate(k.frames(), k.mask(ids=np.zeros((H, W), np.uint8)), k.root / "out")


def _mask_size(k: Kit) -> list[str]:
    return k.propagate(k.frames(), k.mask(ids=np.ones((10, 10), np.uint8)), k.root / "out")


def _unreadable_video(k: Kit) -> list[str]:
    (k.root / "clip.mp4").write_bytes(b"not a video" * 40)
    return k.propagate(k.root / "clip.mp4", k.mask(), k.root / "out")


_EARLIER = tuple(f"out/{i:05d}.png" for i in range(N + 2)) + ("out/.xmem-masks.json",)

CASES: list[Case] = [
    # ---- data loss ----
    Case("out-is-png-input", "1", "`--out` is the folder of PNG frames", _out_is_input, 2,
         "is the input frame folder", "refused before anything is written; frames untouched"),
    Case("out-is-jpg-input", "1", "`--out` is the folder of JPG frames", _out_is_jpg_input, 2,
         "is the input frame folder", "refused before anything is written"),
    Case("out-inside-input", "1", "`--out` is a folder inside the frame folder", _out_inside_input, 2,
         "lies inside the input frame folder", "refused; no folder created"),
    Case("out-contains-input", "1", "`--out` is the folder that holds the frame folder", _out_contains_input, 2,
         "contains the input frame folder", "refused"),
    Case("earlier-masks", "2", "OUT_DIR holds an earlier run's masks (+ notes.txt, an unrelated 00050.png)",
         lambda k: _earlier_masks_and_user_files(k, overwrite=False), 2,
         "holds 14 mask(s) of an earlier run (12 of them this run would write); pass --overwrite",
         "refused, naming how many; nothing changes"),
    Case("earlier-masks-overwrite", "2", "the same with `--overwrite`",
         lambda k: _earlier_masks_and_user_files(k, overwrite=True), 0, "",
         "our 12 masks replaced, our 2 stale ones (00012, 00013) removed; notes.txt and 00050.png untouched",
         changes=_EARLIER, check=_removed_only_ours),
    Case("foreign-files", "2", "OUT_DIR holds the user's own 00000–00002.png, `--overwrite` given", _foreign_targets,
         2, "3 file(s) this run would write that are not masks of an earlier run",
         "refused even with --overwrite: only masks a run of ours wrote are ever replaced"),
    Case("hand-edited-mask", "2", "one earlier mask was edited by hand since, `--overwrite` given", _edited_mask, 2,
         "(or were edited since), e.g. 00005.png", "refused, naming the file"),
    Case("mask-in-out", "2", "the `--mask` file is one of OUT_DIR's masks, `--overwrite` given", _mask_in_out, 2,
         "is in OUT_DIR and this run would replace it", "refused"),
    # ---- misread input ----
    Case("antialiased-mask", "4", "DAVIS-red mask with anti-aliased edges (about 20 colours)", _aa_red, 0,
         "read as 1 object (DAVIS colour 1) after snapping anti-aliased edges",
         "one object; a `note:` says how the colours were read", check=_expect_ids({0, 1})),
    Case("blurred-mask", "4", "blurred DAVIS-red mask (over 100 colours)", _blurred_red, 0,
         "read as 1 object (DAVIS colour 1) after snapping", "one object, with a note", check=_expect_ids({0, 1})),
    Case("300-colours", "4", "RGB mask with 300 solid colour regions", _many_colours, 2,
         "300 distinct solid colours (objects); at most 255", "refused with the count"),
    Case("16-bit-ids", "5", "16-bit mask with ids 1000 and 2000", _sixteen_bit, 0,
         "16-bit ids above 255 renumbered as objects 1..2", "two objects, with a note",
         check=_expect_ids({0, 1, 2})),
    Case("void-border", "5", "palette mask with a 255 (DAVIS void) border", _void_border, 0,
         "(the DAVIS 'void' border) read as background", "background, with a note", check=_expect_ids({0, 1})),
    Case("truncated-video", "6", "mp4 whose header says 12 frames, cut after 3", _truncated_video, 0,
         "header says 12 frames, 3 decode", "the 3 frames are propagated, with a note", check=_expect_masks(3)),
    # ---- one-line errors ----
    Case("out-is-file", "7", "`--out` is an existing file", _out_is_file, 2, "is a file, not a folder", "refused"),
    Case("out-under-file", "7", "`--out` lies under a file", _out_under_file, 2, "which is a file", "refused"),
    Case("read-only-out", "7", "`--out` on a read-only file system", _read_only, 2,
         "cannot write to --out", "refused before the model loads; no folder left behind"),
    Case("disk-full", "7", "the disk fills up after 3 masks (progress bar on)", _disk_full, 2,
         "cannot write masks to", "stops with one line after the progress bar; masks written so far stay",
         partial=True),
    Case("size-huge", "7", "`--size 100000`", _size("100000"), 2, "--size 100000 is out of range",
         "refused before anything is allocated"),
    Case("size-zero", "7", "`--size 0`", _size("0"), 2, "--size 0 is out of range", "refused"),
    Case("size-negative", "7", "`--size -5`", _size("-5"), 2, "--size -5 is out of range", "refused"),
    Case("threads-negative", "7", "`--threads -1`", _threads("-1"), 2, "--threads -1 is out of range", "refused"),
    Case("threads-too-many", "7", "`--threads 100000`", _threads("100000"), 2, "--threads 100000 is out of range",
         "refused"),
    Case("odd-size-frame", "8", "frame 00006.png is 40×64 among 48×64 frames", _odd_size_frame, 2,
         "frame 00006.png is 40x64", "refused at open, before any mask is written"),
    Case("non-image-frame", "8", "00006.jpg is a text file", _not_an_image, 2, "00006.jpg: not an image file",
         "refused at open"),
    Case("text-weights", "9", "`--model` is a text file", _weights("w.pth", lambda p: p.write_text("hello\n")), 2,
         "is not a PyTorch weights file: it is a text file", "refused, saying what the file is"),
    Case("shape-mismatch", "9", "weights whose decoder output layer has the wrong shape",
         _weights("w.pth", _shape_mismatch), 2, "1 shape mismatch (decoder.pred.weight (2, 16, 3, 3) vs (1, 16, 3, 3))",
         "refused, naming the first mismatched keys"),
    Case("nan-weights", "9", "weights holding NaN", _weights("w.pth", _nan_weights), 2,
         "NaN or Inf values in 1 tensor(s) (first: decoder.pred.weight)", "refused at load"),
    Case("stale-temp", "9", "OUT_DIR holds a temp file a kill -9 left mid-write", _stale_temps, 0, "",
         "our stale temp file is removed; other hidden files stay", changes=("out/.00003.png.k2j4x9a_.tmp",),
         check=_no_stale_temp),
    # ---- security ----
    Case("pickle-payload", "10", "`--model` is a pickle whose `__reduce__` runs a command",
         _weights("evil.pth", _pickle_payload), 2, "it holds Python objects other than tensors",
         "refused; the payload never runs", check=_no_payload_ran),
    # ---- already right ----
    Case("ok-folder", "ok", "a PNG frame folder and a palette mask", _ok_folder, 0, "",
         "one palette PNG per frame", check=_expect_masks(N)),
    Case("ok-video", "ok", "an mp4 and a mask on frame 4", _ok_video, 0, "", "every frame, both directions",
         check=_expect_masks(N)),
    Case("ok-other-files", "ok", "OUT_DIR holds notes.txt and an unrelated 00050.png", _ok_other_files, 0, "",
         "masks written; the other files untouched", check=_expect_masks(N + 1)),
    Case("missing-input", "ok", "INPUT does not exist", _missing_input, 2, "input not found", "refused"),
    Case("empty-mask", "ok", "the mask marks no object", _empty_mask, 2, "is empty: it marks no object", "refused"),
    Case("mask-size", "ok", "the mask is 10×10, the frames 48×64", _mask_size, 2, "is 10x10 (HxW) but 48x64",
         "refused"),
    Case("unreadable-video", "ok", "INPUT is not a video", _unreadable_video, 2, "cannot open video", "refused"),
]


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under `root`, by relative path."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def render() -> str:
    """docs/bad_input.md from CASES."""
    lines = [
        "# What happens with bad input",
        "",
        "`main.py propagate` under bad input and faults. Generated from `tests/core/bad_input_cases.py` by",
        "`python -m tests.core.bad_input_cases`; `tests/core/test_bad_input.py` runs every row and checks the exit",
        "status, the one `error:` line (or `note:` line) quoted here, and that the input files and any earlier",
        "outputs are byte-identical afterwards (except where the row says what is replaced). Errors are one line on",
        "stderr and exit status 2; `note:` lines say what was read or corrected.",
        "",
        "OUT_DIR rules: a run records the masks it writes in `OUT_DIR/.xmem-masks.json` (size and modification",
        "time of each). Without `--overwrite` a run refuses an OUT_DIR holding masks of an earlier run or any file",
        "it would write; `--overwrite` replaces (and, where this run writes fewer frames, deletes) only masks listed",
        "there and unchanged since, never other files.",
        "",
        "| item | input | exit | message | what happens |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in CASES:
        kind = "error:" if c.code else "note:"
        message = f"`{kind} …{c.message}…`" if c.message else "—"
        lines.append(f"| {c.item} | {c.does} | {c.code} | {message.replace('|', '/')} | {c.outcome} |")
    return "\n".join(lines + ["", *ELSEWHERE]) + "\n"


#: the app's and training's rows (tests/app/test_bad_input.py, tests/training/test_bad_input.py)
ELSEWHERE = [
    "## The app and training",
    "",
    "| item | input or fault | what happens | test |",
    "| --- | --- | --- | --- |",
    "| 3 | the workspace disk fills up during propagation | the run stops at the first failed write; a dialog names"
    " the masks folder and the cause; the masks not written stay in memory (shown, undoable) and are written by the"
    " next change or run once space is free | `tests/app/test_bad_input.py::test_full_disk_stops_the_run…` |",
    "| 3 | the workspace is not writable while painting | the stroke stays in memory; one dialog names the folder |"
    " `…::test_unwritable_workspace_keeps_paint_in_memory` |",
    "| 3 | `masks/000005.png` in a workspace is damaged | treated as missing: logged, said in the status bar, kept as"
    " `000005.png.damaged`; propagation or painting writes a new one | `…::test_damaged_workspace_mask_is_missing…` |",
    "| 6 | a truncated video (header 12 frames, 3 decode) | opens with the 3 frames |"
    " `…::test_truncated_video_opens_with_the_frames_that_decode` |",
    "| 10 | a pickle payload as `project.json`, `memory_log.json` or a mask | never unpickled (JSON and PNG only); a"
    " damaged project is a dialog | `…::test_workspace_files_never_unpickle` |",
    "| 10 | `python -m training.train --resume evil.pth` | `error: refused training checkpoint …: it holds Python"
    " objects other than tensors …`, exit 2; the payload never runs (checkpoints load with `weights_only=True`,"
    " RNG states stored as tensors) | `tests/training/test_bad_input.py` |",
    "| 10 | the same payload given to every loader (weights, ImageNet backbones, init weights, checkpoints) | refused,"
    " never run | `tests/training/test_bad_input.py::test_reduce_payload_never_runs` |",
    "",
    "## Cost of the checks at open",
    "",
    "Every folder frame's header is read and a video's packets are demuxed (no decoding; the tail is decoded only",
    "when the header disagrees) when a clip is opened. `python benchmarks/bench_open.py FOLDER VIDEO` on this",
    "project's 2-core machine: 2,079 davis16-train JPEGs (854×480) open in 0.26–0.31 s (0.07–0.18 s before the",
    "checks), a 1,500-frame 854×480 H.264 mp4 in 0.07–0.24 s (0.02–0.16 s before).",
]


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
