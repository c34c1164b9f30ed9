"""OUT_DIR safety for `main.py propagate`: nothing but our own masks is ever replaced or removed.

Rules, checked before the model loads and before anything is written:

* OUT_DIR must not be, contain or lie inside the input frame folder, and must not be (or lie under) a file.
* Every run records the masks it writes in ``OUT_DIR/.xmem-masks.json`` (written atomically before the first mask,
  as pending entries, and again at the end with each file's size and modification time). A mask is "ours" while it
  is listed there and unchanged since (a pending entry, left by an interrupted run, counts as ours).
* Without ``--overwrite`` a run refuses an OUT_DIR holding any of our earlier masks or any file it would write.
  With ``--overwrite`` it replaces our earlier masks and deletes those of them it will not rewrite; a file it would
  write that is not ours (a user's file, a hand-edited mask) is never replaced: the run is refused, naming it.
* OUT_DIR is created if needed, a probe file is written and deleted (read-only or full disks fail here), and stale
  temp files of our own pattern left by a killed run are swept.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from xmem_core.cli.errors import CliError
from xmem_core.io.atomic import atomic_write_text, sweep_stale_temps

MANIFEST = ".xmem-masks.json"
FORMAT = "xmem-propagate-masks-v1"

Stamp = list[int] | None  # [size, mtime_ns] once written; None while the run that writes it is in progress


@dataclass
class OutputFolder:
    """A checked OUT_DIR: what this run writes, which earlier masks of ours it replaces or removes."""

    folder: Path
    names: list[str]                           # file names this run writes
    manifest: dict[str, Stamp] = field(default_factory=dict)  # our masks still in the folder
    stale: list[str] = field(default_factory=list)            # ours, not rewritten by this run: removed at start
    created: list[Path] = field(default_factory=list)         # folders this run created (removed if it fails early)

    def path(self, name: str) -> Path:
        return self.folder / name

    def start(self) -> None:
        """Sweep our stale temp files, record this run's masks as pending, remove our stale masks."""
        sweep_stale_temps(self.folder, lambda target: target.endswith(".png") or target == MANIFEST)
        for name in self.stale:
            self.manifest.pop(name, None)
        self.manifest.update({name: None for name in self.names})
        _write_manifest(self.folder, self.manifest)
        for name in self.stale:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()

    def finish(self) -> None:
        """Record each written mask's size and modification time (a later change makes it the user's)."""
        for name in self.names:
            self.manifest[name] = _stamp(self.folder / name)
        _write_manifest(self.folder, self.manifest)

    def discard_created(self) -> None:
        """Remove folders this run created, if they are still empty (a run that failed before writing)."""
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):
                folder.rmdir()


def check_output(out: str | os.PathLike, input_path: str | os.PathLike, names: list[str],
                 mask_path: str | os.PathLike, overwrite: bool) -> OutputFolder:
    """Validate OUT_DIR against the rules above and create it with a write probe; raises CliError."""
    folder = Path(out)
    _check_not_a_file(folder)
    _check_outside_input(folder, Path(input_path))
    files = [f"{n}.png" for n in names]
    plan = OutputFolder(folder, files)
    if folder.is_dir():
        _check_existing(plan, Path(mask_path), overwrite)
    plan.created = _create_and_probe(folder)
    return plan


def _check_not_a_file(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise CliError(f"--out {folder} is a file, not a folder")
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CliError(f"--out {folder} lies under {parent}, which is a file")
            return


def _check_outside_input(folder: Path, input_path: Path) -> None:
    """The frames' folder (INPUT itself for a folder of frames) must not be OUT_DIR, inside it or around it."""
    if not input_path.is_dir():
        return
    src, dst = input_path.resolve(), folder.resolve()
    if dst == src:
        relation = "is"
    elif src in dst.parents:
        relation = "lies inside"
    elif dst in src.parents:
        relation = "contains"
    else:
        return
    raise CliError(f"--out {folder} {relation} the input frame folder {input_path}; masks would mix with (or "
                   "replace) the frames: choose a folder outside it")


def _check_existing(plan: OutputFolder, mask_path: Path, overwrite: bool) -> None:
    folder = plan.folder
    ours = {name: stamp for name, stamp in _read_manifest(folder).items()
            if (folder / name).is_file() and _unchanged(folder / name, stamp)}
    targets = [name for name in plan.names if (folder / name).exists()]
    foreign = [name for name in targets if name not in ours]
    replaced = sorted(set(targets) | set(ours))
    if mask_path.is_file() and mask_path.resolve().parent == folder.resolve() and mask_path.name in replaced:
        raise CliError(f"the mask {mask_path} is in OUT_DIR and this run would replace it; copy it elsewhere or "
                       "choose another --out")
    if foreign:
        raise CliError(f"{folder} already holds {len(foreign)} file(s) this run would write that are not masks of an "
                       f"earlier run (or were edited since), e.g. {foreign[0]}; move them away or choose another --out")
    if replaced and not overwrite:
        raise CliError(f"{folder} holds {len(replaced)} mask(s) of an earlier run ({len(targets)} of them this run "
                       "would write); pass --overwrite to replace them, or choose another --out")
    plan.manifest = dict(ours)
    plan.stale = sorted(set(ours) - set(plan.names))


def _create_and_probe(folder: Path) -> list[Path]:
    """mkdir -p OUT_DIR and write + delete a probe file; returns the folders created. Raises CliError."""
    created = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".xmem-probe.", dir=folder)
        try:
            os.write(fd, b"probe")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        for p in reversed(created):
            with contextlib.suppress(OSError):
                p.rmdir()
        raise CliError(f"cannot write to --out {folder}: {exc.strerror or exc}") from None
    return created


def _stamp(path: Path) -> Stamp:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _unchanged(path: Path, stamp: Stamp) -> bool:
    return stamp is None or _stamp(path) == list(stamp)


def _read_manifest(folder: Path) -> dict[str, Stamp]:
    """Our masks recorded in OUT_DIR (empty if there is no manifest or it is unreadable: then nothing is ours)."""
    try:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) and data.get("format") == FORMAT else None
    if not isinstance(files, dict):
        return {}
    return {str(k): (list(v) if isinstance(v, list) else None) for k, v in files.items()
            if "/" not in str(k) and "\\" not in str(k) and str(k).endswith(".png")}


def _write_manifest(folder: Path, files: dict[str, Stamp]) -> None:
    atomic_write_text(folder / MANIFEST, json.dumps({"format": FORMAT, "files": dict(sorted(files.items()))},
                                                    indent=1) + "\n")
