"""Keep freed memory in the process instead of handing it back to the OS after every frame (glibc malloc).

glibc serves every block above its mmap threshold (32 MB at most) with a fresh `mmap` and unmaps it on `free`, and
gives the top of its heap back once more than the trim threshold is free there. A 480p frame allocates and frees
activations of tens of MB (one fp32 EfficientNet expansion at 1/2 resolution is 40 MB), so without this every frame
faults its memory in again page by page: about 25,000 minor faults per Lite key-encoder pass, which then takes
90-100 ms instead of about 60 (README, Performance). `keep_freed_memory` switches both off, so freed blocks are
reused. Resident memory then stays at its peak between frames, which propagation reaches on every frame anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameter: free bytes at the heap top before glibc trims it
M_MMAP_MAX = -4  # mallopt parameter: how many blocks may be served by mmap at once (0: none)
_NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes (an int)


@functools.cache
def keep_freed_memory() -> bool:
    """Process-wide: serve large blocks from the heap and never trim it. True where applied (Linux with glibc),
    False elsewhere, where it does nothing. Idempotent."""
    return _tune_malloc(sys.platform)


def _tune_malloc(platform: str) -> bool:
    """The `mallopt` calls of keep_freed_memory on `platform` (a `sys.platform` value); False where not applied."""
    if not platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) & bool(mallopt(M_TRIM_THRESHOLD, _NEVER_TRIM))
