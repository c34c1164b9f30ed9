"""Out-of-memory fallback: when the GPU (or the CPU) runs out of memory mid-run, continue with a smaller processing
size, then on the CPU, instead of failing; and the device label shown in the status bar.

Torch is imported lazily (this module is imported by the controller in the GUI thread).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.settings import EngineSettings

# processing short sides tried in turn after an out-of-memory error (the source size, -1, counts as the largest)
FALLBACK_SIZES = (480, 360, 240)


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, or a RuntimeError/MemoryError saying the device or host ran out of memory."""
    if type(exc).__name__ == "OutOfMemoryError" or isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def degrade(settings: EngineSettings) -> tuple[EngineSettings, str] | None:
    """The next settings to try after an out-of-memory error, with a one-line reason, or None when nothing smaller
    is left (CPU at the smallest size). A GPU first gives up processing size (down to FALLBACK_SIZES[-1]), then
    moves to the CPU at that size."""
    size, on_gpu = int(settings.size), settings.device.startswith("cuda")
    where = "The GPU" if on_gpu else "The computer"
    smaller = [s for s in FALLBACK_SIZES if size < 0 or s < size]
    shown = "source size" if size < 0 else f"{size} px"
    if smaller:
        return replace(settings, size=smaller[0]), f"{where} ran out of memory at {shown}: continuing at " \
                                                   f"{smaller[0]} px from the last finished frame."
    if on_gpu:
        return replace(settings, device="cpu"), f"The GPU ran out of memory at {shown}: continuing on the CPU " \
                                                 "from the last finished frame."
    return None


def device_label(session: Any) -> str:
    """'CUDA · <GPU name>' or 'CPU' for a session (anything without a CUDA `device` is the CPU)."""
    device = getattr(session, "device", None)
    if getattr(device, "type", None) != "cuda":
        return "CPU"
    import torch

    try:
        return f"CUDA · {torch.cuda.get_device_name(device)}"
    except (RuntimeError, AssertionError):
        return "CUDA"
