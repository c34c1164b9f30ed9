"""Keep the Qt binding from freeing None, True and False on Python 3.11 (the crash on quit).

The installed shiboken6 (6.12, a stable-ABI build) treats None, True and False as immortal, as they are from
Python 3.12 on (PEP 683): a void Qt method such as `QAction.setEnabled` hands back `None` without a new reference,
and a `bool` passed to a Python slot is handed over without one. On Python 3.11 every such call takes one
reference away for good. A working session makes millions of them; when the count reaches zero, usually while the
interpreter finalizes and drops its own references, CPython aborts with
"Fatal Python error: none_dealloc: deallocating None" (or `bool_dealloc`).

`protect_singletons()` measures the defect with one QObject and, where it is present, gives the three objects the
immortality the binding assumes: a reference count too large to ever reach zero, as Python 3.12 does itself.
"""

from __future__ import annotations

import ctypes
import sys

#: references added to each singleton: 2**40 void calls at 10 million a second would take three years
PAD = 1 << 40
_protected = False


def void_call_drain(calls: int = 64) -> int:
    """References to None that `calls` void Qt calls take away (0 with a correct binding)."""
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        obj.setObjectName("")
    return before - sys.getrefcount(None)


def protect_singletons() -> bool:
    """Make None, True and False immortal when the binding under-counts them; True if that was needed.

    Call before the first window is built (idempotent, cheap)."""
    global _protected
    if _protected or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _protected
    if void_call_drain() <= 0:
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += PAD  # ob_refcnt is PyObject's first field
    _protected = True
    return True
