"""Steps the whole-window tests share (imported by path: the tests run in importlib mode)."""

from __future__ import annotations


def open_and_wait(qtbot, window, path, scores=False):
    """Open ``path`` in ``window`` and wait for the clip (or its scores) and its frame."""
    signal = window.scores_ready if scores else window.clip_opened
    with qtbot.waitSignal(signal, timeout=120000):
        window.open_path(path)
    qtbot.waitUntil(lambda: window.player.shown_frame == window.player.current_frame,
                    timeout=10000)
