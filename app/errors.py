"""Turn exceptions into a dialog title and a message that says what to do (Qt-free)."""

from __future__ import annotations

import errno


def describe(exc: BaseException, context: str = "") -> tuple[str, str]:
    """(title, text) for an error dialog; `context` says what was being done ("opening clip.mp4")."""
    name = type(exc).__name__
    msg = str(exc) or name
    where = f" while {context}" if context else ""
    if "OutOfMemory" in name or "out of memory" in msg.lower():
        return ("Out of GPU memory",
                f"The GPU ran out of memory{where}.\n\nLower the processing resolution or T_max / LT_max in the "
                "Memory panel, or switch the device to CPU, then propagate again. Masks painted or propagated "
                "so far are saved.")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ("Disk full",
                f"The disk is full{where}: {msg}\n\nFree some space (or export to another drive) and try "
                "again. Everything saved before this point is intact.")
    if isinstance(exc, PermissionError):
        return ("Permission denied", f"Cannot write{where}: {msg}\n\nChoose a folder you can write to.")
    if name == "FrameSourceError":
        return ("Cannot open clip",
                f"{msg}\n\nOpen a video file (mp4, mov, avi, mkv, webm) or a folder of jpg/png frames.")
    if name in ("MaskError", "MaskFileError"):
        return ("Cannot use mask",
                f"{msg}\n\nImport a PNG mask with the same width and height as the clip (palette, "
                "grayscale index or black/white).")
    if name == "CheckpointError":
        return ("Cannot load model weights",
                f"{msg}\n\nChoose another weights file (an XMem .pth) in the Memory panel.")
    if name == "WorkspaceError":
        return ("Workspace problem", f"{msg}")
    if name == "NoWeightsError":
        return ("No model weights", msg)
    if isinstance(exc, ValueError):
        return ("Invalid setting or input", f"{msg}")
    return (f"Error{where}", f"{name}: {msg}")


def describe_write_failure(folder: object, exc: OSError, unsaved: int, stopped: bool) -> tuple[str, str]:
    """(title, text) when masks could not be written to the workspace: where, why, and that nothing is lost."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    title = "Disk full: masks not saved" if full else "Cannot save masks"
    what = "Propagation was stopped. " if stopped else ""
    fix = "free some space" if full else "make the folder writable (or free space)"
    return (title, f"Masks could not be written to {folder}: {cause}.\n\n{what}The {unsaved} mask(s) not saved are "
                   f"kept in memory: {fix}, then propagate again or keep editing, and they are saved with the next "
                   "change. Do not close the clip before that, or they are lost.")


class NoWeightsError(RuntimeError):
    """No weights file was chosen and none ships in resources/weights."""
