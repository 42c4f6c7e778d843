"""The reference-count guard against PySide6 6.12's ``emit`` bug (see ``app.qt_compat``)."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal

import app  # noqa: F401  (applies the guard)


class _Emitter(QObject):
    fired = Signal(int)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="True is immortal from Python 3.12")
def test_many_emits_cannot_exhaust_the_reference_count_of_true():
    emitter = _Emitter()
    received = []
    emitter.fired.connect(received.append)
    for i in range(5000):         # without the guard: "Fatal Python error: bool_dealloc"
        emitter.fired.emit(i)
    assert len(received) == 5000
    assert sys.getrefcount(True) > 1 << 39 and sys.getrefcount(None) > 1 << 39
