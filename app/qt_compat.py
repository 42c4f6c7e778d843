"""Work-arounds for bugs of the installed Qt bindings (applied once, when ``app`` loads).

PySide6 6.12.0 on Python 3.11: ``SignalInstance.emit`` returns ``True`` without taking a
reference to it, so every emit lowers ``True``'s reference count by one. After a few
thousand signals (about 25 s of video playback) the count reaches zero and the interpreter
aborts ("Fatal Python error: bool_dealloc"). A 10-minute playback run also ended once in
"none_dealloc" when the player shut down (cause not isolated; ``None``'s count stayed flat
during playback). From Python 3.12 on, ``True``, ``False`` and ``None`` are immortal and such
bugs are harmless; before, we give them a reference count no program can use up (what 3.12
does for its immortal objects).
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40      # decrefs before trouble: ~35,000 years at a million a second


def protect_singleton_refcounts() -> None:
    """Make ``True``, ``False`` and ``None`` practically immortal on CPython < 3.12
    (no-op elsewhere; idempotent)."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return
    for obj in (True, False, None):
        refcnt = ctypes.c_ssize_t.from_address(id(obj))   # ob_refcnt: the object's first field
        if refcnt.value < _HEADROOM:
            refcnt.value += _HEADROOM
