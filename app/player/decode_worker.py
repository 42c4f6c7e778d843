"""Frame decoding off the GUI thread, serving only the newest request.

The worker owns its own :class:`meldae.video.VideoReader`. Requests go into a single slot:
a new request replaces one that has not been served yet, so scrubbing never builds a queue
of stale frames. ``VideoReader`` is frame-exact and decodes forward instead of seeking when
the next request is close ahead (playback), so both paths give the same image.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.workers import TrackedThread

log = logging.getLogger(__name__)


def rgb_to_qimage(frame: np.ndarray) -> QImage:
    """Copy an ``(H, W, 3)`` uint8 RGB array into a QImage that owns its memory."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()


class DecodeWorker(TrackedThread):
    """Decodes the newest requested frame of one video.

    Signals:
        opened(int, object, object): frame count, fps (Fraction), size (w, h) once open.
        frame_decoded(int, QImage): the frame index and its image.
        failed(str): the video could not be opened or decoded (message names the file).
    """

    opened = Signal(int, object, object)
    frame_decoded = Signal(int, QImage)
    failed = Signal(str)

    def __init__(self, video_path: str | Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.video_path = Path(video_path)
        self._cond = threading.Condition()
        self._pending: int | None = None
        self._decoding = False

    def request(self, frame_idx: int) -> None:
        """Ask for ``frame_idx``; replaces any request not served yet (never blocks)."""
        with self._cond:
            self._pending = int(frame_idx)
            self._cond.notify()

    @property
    def busy(self) -> bool:
        """True while a request waits or is being decoded (playback then skips a tick)."""
        with self._cond:
            return self._pending is not None or self._decoding

    def cancel(self) -> None:
        """Stop the worker after the frame it decodes now."""
        super().cancel()
        with self._cond:
            self._cond.notify()

    def _take_request(self) -> int | None:
        with self._cond:
            while self._pending is None and not self.cancel_requested:
                self._cond.wait(0.5)
            if self.cancel_requested:
                return None
            frame_idx, self._pending = self._pending, None
            self._decoding = True
            return frame_idx

    def run(self) -> None:  # noqa: D102 (QThread entry point)
        from meldae.video import VideoError, VideoReader

        try:
            reader = VideoReader(self.video_path)
        except (VideoError, OSError) as exc:
            self.failed.emit(str(exc))
            return
        try:
            self.opened.emit(len(reader), reader.fps, tuple(reader.size))
            while (frame_idx := self._take_request()) is not None:
                if not 0 <= frame_idx < len(reader):
                    with self._cond:
                        self._decoding = False
                    continue
                frame = reader[frame_idx]   # frame-exact; decodes forward when close ahead
                self.frame_decoded.emit(frame_idx, rgb_to_qimage(frame))
                with self._cond:
                    self._decoding = False
        except (VideoError, OSError, ValueError) as exc:
            self.failed.emit(str(exc))
        finally:
            reader.close()
