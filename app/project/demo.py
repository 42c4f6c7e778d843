"""The out-of-the-box demo project: a few synthetic clips generated once, off the GUI thread.

``python main.py`` with no arguments opens ``cache_dir()/demo-project``; on first start the
clips are written by :class:`DemoProjectWorker` into a temporary folder that is renamed into
place only when complete, so an interrupted first start never leaves a half project.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.workers import TrackedThread
from meldae.paths import cache_dir

log = logging.getLogger(__name__)

DEMO_CLIPS = 3
DEMO_SEED = 2024
DEMO_FRAMES = 240          # 8 s at 30 fps per clip
DEMO_SIZE = 320
DEMO_ME_SCALE = 3.0        # the amplitude the bundled demo model was trained on (Makefile)
_COMPLETE_MARKER = "synth.json"   # written last by meldae.data.synthesize


def demo_project_dir() -> Path:
    """Where the demo project lives: ``cache_dir()/demo-project-v2`` (v2: MEs at
    ``DEMO_ME_SCALE``; an older ``demo-project`` is left alone)."""
    return cache_dir() / "demo-project-v2"


def demo_project_ready(folder: Path | None = None) -> bool:
    """True when the demo project was generated completely."""
    folder = folder or demo_project_dir()
    return (folder / _COMPLETE_MARKER).is_file() and any(folder.glob("*.mp4"))


def generate_demo_project(folder: Path, progress=None, clips: int | None = None,
                          frames: int | None = None) -> Path:
    """Write the demo clips into ``folder`` atomically (a temp folder renamed into place).

    Args:
        folder: the project folder to create (replaced when incomplete).
        progress: ``progress(done, total)`` after each clip.
        clips: number of clips (default ``DEMO_CLIPS``).
        frames: frames per clip (default ``DEMO_FRAMES``).

    Returns:
        ``folder``.
    """
    from meldae.data.synth import synthesize

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-project-", dir=folder.parent))
    try:
        synthesize(tmp, clips=clips or DEMO_CLIPS, seed=DEMO_SEED, frames=frames or DEMO_FRAMES,
                   fps=30, size=DEMO_SIZE, me_scale=DEMO_ME_SCALE,
                   progress=progress)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


class _Cancelled(Exception):
    """The window closed while the demo project was being generated."""


class DemoProjectWorker(TrackedThread):
    """Generates the demo project in a thread.

    Signals:
        progress(int, int): clips written, clips in total.
        ready(str): the project folder, complete.
        failed(str): what went wrong.
    """

    progress = Signal(int, int)
    ready = Signal(str)
    failed = Signal(str)

    def __init__(self, folder: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = folder or demo_project_dir()

    def _on_progress(self, done: int, total: int) -> None:
        if self.cancel_requested:   # stops between clips; the temp folder is removed
            raise _Cancelled
        self.progress.emit(done, total)

    def run(self) -> None:  # noqa: D102 (QThread entry point)
        try:
            generate_demo_project(self.folder, progress=self._on_progress)
        except _Cancelled:
            log.info("demo project generation cancelled")
            return
        except Exception as exc:  # noqa: BLE001 (any failure is reported in the window)
            log.exception("demo project generation failed")
            self.failed.emit(f"{self.folder}: {exc}")
            return
        self.ready.emit(str(self.folder))
