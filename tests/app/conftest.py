"""Fixtures of the GUI tests: offscreen Qt, no leaked worker threads, small clips and models.

The whole folder is skipped when PySide6, pyqtgraph or pytest-qt is missing.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
pytest.importorskip("PySide6.QtWidgets")
pytest.importorskip("pytestqt")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QCoreApplication, QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

CLIP_FRAMES = 48


@pytest.fixture(autouse=True)
def _no_running_workers():
    """Fail any test that leaves one of the app's QThreads running."""
    yield
    from app.workers import running_workers

    deadline = time.monotonic() + 10.0
    while running_workers() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    alive = running_workers()
    for worker in alive:   # stop them so the next test starts clean
        worker.shutdown(10000)
    assert not alive, f"test left worker threads running: {[type(w).__name__ for w in alive]}"


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> Path:
    """A clip folder of two short synthetic clips (video + ELAN), made once per session."""
    synth = pytest.importorskip("meldae.data.synth")
    folder = tmp_path_factory.mktemp("clips")
    synth.synthesize(folder, clips=2, seed=3, frames=CLIP_FRAMES, fps=30, size=128)
    return folder


@pytest.fixture
def clip_dir_copy(clip_dir, tmp_path) -> Path:
    """A private copy of the session's clip folder (tests write EAFs and project state)."""
    folder = tmp_path / "project"
    shutil.copytree(clip_dir, folder, ignore=shutil.ignore_patterns(".meldae"))
    return folder


@pytest.fixture(scope="session")
def clip_video(clip_dir) -> Path:
    """The first synthetic clip's video."""
    return sorted(clip_dir.glob("*.mp4"))[0]


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A random-weight ``tiny`` MELDAE checkpoint (fast on CPU)."""
    torch = pytest.importorskip("torch")
    from meldae.checkpoint import save_checkpoint
    from meldae.model import MELDAE, preset

    torch.manual_seed(0)
    model = MELDAE(preset("tiny"))
    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    return save_checkpoint(path, model, meta={"threshold": 0.5})


@pytest.fixture
def corrupt_video(tmp_path) -> Path:
    """A file named like a video that holds no video."""
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2048))
    return path


@pytest.fixture
def no_modal_dialogs(monkeypatch):
    """Replace the session's modal questions (a test must never wait for a click).

    Returns the list of ``(dialog, clip)`` asked; "save changes?" answers Discard and
    "recover?" answers No.
    """
    asked: list[tuple[str, str]] = []
    monkeypatch.setattr("app.review.session.show_save_changes_dialog",
                        lambda parent, clip: asked.append(("save", clip)) or "discard")
    monkeypatch.setattr("app.review.session.show_recovery_dialog",
                        lambda parent, clip, saved_at: asked.append(("recover", clip)) and False)
    return asked


@pytest.fixture
def window(qtbot, tiny_checkpoint, no_modal_dialogs):
    """A main window scoring with the tiny checkpoint on the CPU; shut down afterwards."""
    from app.main_window import MainWindow

    win = MainWindow(checkpoint=tiny_checkpoint, device="cpu")
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()


def send_drag(widget, start: QPointF, end: QPointF, steps: int = 6,
              modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """A left-button drag from ``start`` to ``end`` (widget coordinates) with real events.

    ``QTest.mouseMove`` sends moves without the pressed button, which pyqtgraph ignores, so
    the events are built by hand.
    """
    def send(kind, pos: QPointF, buttons, button=Qt.MouseButton.NoButton):
        global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
        event = QMouseEvent(kind, pos, global_pos, button, buttons, modifiers)
        QApplication.sendEvent(widget, event)

    left = Qt.MouseButton.LeftButton
    send(QEvent.Type.MouseButtonPress, start, left, left)
    for i in range(1, steps + 1):
        pos = start + (end - start) * (i / steps)
        time.sleep(0.02)   # pyqtgraph drops mouse moves faster than 60 Hz
        send(QEvent.Type.MouseMove, pos, left)
        QCoreApplication.processEvents()
    time.sleep(0.02)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton, left)
    QCoreApplication.processEvents()


def timeline_point(timeline, frame_x: float, y: float) -> QPointF:
    """Viewport coordinates of data point ``(frame_x, y)`` on a timeline widget."""
    QCoreApplication.processEvents()   # let the plot's layout settle first
    scene = timeline.view_box.mapViewToScene(QPointF(frame_x, y))
    return QPointF(timeline.plot_widget.mapFromScene(scene))


@pytest.fixture
def drag():
    """``drag(widget, start, end, steps=6, modifiers=...)``: a real left-button drag."""
    return send_drag


@pytest.fixture
def to_view():
    """``to_view(timeline, frame_x, y)``: viewport point of a timeline data point."""
    return timeline_point
