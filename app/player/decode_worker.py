"""Exact frame decoding off the GUI thread, serving only the newest request.

The worker owns its own :class:`meldae.video.VideoReader`. Requests go into a single slot
(:class:`LatestSlot`): a new request replaces one that has not been served yet, and a decode
in progress gives up between two decoded frames when a newer request arrives, so scrubbing
never builds a queue of stale frames and the exact frame of the position where a drag rests
starts decoding at once. ``VideoReader`` is frame-exact and decodes forward instead of
seeking when the next request is close ahead (playback), so both paths give the same image.

Every exact frame goes into the shared :class:`meldae.video.frame_cache.FrameCache`, and once
a request is served (and no other waits) the worker decodes the frames around it into the
cache, so that stepping either way is served without decoding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.player.latest import LatestSlot
from app.workers import TrackedThread
from meldae.video.frame_cache import FrameCache

log = logging.getLogger(__name__)


def rgb_to_qimage(frame: np.ndarray) -> QImage:
    """Copy an ``(H, W, 3)`` uint8 RGB array into a QImage that owns its memory."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()


@dataclass(frozen=True)
class _Request:
    frame_idx: int
    emit: bool       # send the frame to the GUI (False: it is shown already, from the cache)
    prefetch: bool   # afterwards, decode the frames around it into the cache


class DecodeWorker(TrackedThread):
    """Decodes the newest requested frame of one video, exactly.

    Signals:
        opened(int, object, object): frame count, fps (Fraction), size (w, h) once open.
        frame_decoded(int, QImage): the frame index and its image.
        failed(str): the video could not be opened or decoded (message names the file).
    """

    opened = Signal(int, object, object)
    frame_decoded = Signal(int, QImage)
    failed = Signal(str)

    def __init__(self, video_path: str | Path, cache: FrameCache | None = None,
                 parent: QObject | None = None) -> None:
        """Create the worker (``start()`` opens the video).

        Args:
            video_path: the video.
            cache: the frame cache to fill and read; a private one when None.
            parent: the Qt parent.
        """
        super().__init__(parent)
        self.video_path = Path(video_path)
        self.cache = cache if cache is not None else FrameCache()
        self._slot: LatestSlot[_Request] = LatestSlot()
        self._prefetch: list[int] = []    # frames to decode into the cache while idle

    def request(self, frame_idx: int, prefetch: bool = True) -> None:
        """Ask for ``frame_idx``; replaces any request not served yet (never blocks).

        Args:
            frame_idx: the frame.
            prefetch: afterwards decode its neighbours into the cache (off for playback).
        """
        self._slot.put(_Request(int(frame_idx), True, prefetch))

    def prefetch_around(self, frame_idx: int) -> None:
        """Fill the cache around ``frame_idx`` without sending it (it is on screen)."""
        self._slot.put(_Request(int(frame_idx), False, True))

    @property
    def busy(self) -> bool:
        """True while a request waits or is being decoded (playback then skips a tick)."""
        return self._slot.busy

    def cancel(self) -> None:
        """Stop the worker after the frame it decodes now."""
        super().cancel()
        self._slot.close()

    def run(self) -> None:  # noqa: D102 (QThread entry point)
        from meldae.video import VideoError, VideoReader

        try:
            reader = VideoReader(self.video_path, cache_bytes=1)   # the FrameCache caches
        except (VideoError, OSError) as exc:
            self.failed.emit(str(exc))
            return
        try:
            self.opened.emit(len(reader), reader.fps, tuple(reader.size))
            while True:
                request = self._slot.take(block=not self._prefetch)
                if self._slot.closed:
                    break
                if request is None:
                    self._prefetch_one(reader)
                    continue
                self._serve(reader, request)
                self._slot.done()
        except (VideoError, OSError, ValueError) as exc:
            self.failed.emit(str(exc))
        finally:
            reader.close()

    def _serve(self, reader, request: _Request) -> None:
        from meldae.video import ReadInterrupted

        frame_idx = request.frame_idx
        self._prefetch = []
        if not 0 <= frame_idx < len(reader):
            return
        self.cache.set_center(frame_idx)
        frame = self.cache.get(frame_idx)
        if frame is None:
            try:   # frame-exact; decodes forward when close ahead
                frame = reader.read(frame_idx, interrupt=self._slot.has_pending)
            except ReadInterrupted:
                return   # a newer request waits: this frame is stale
            self.cache.put(frame_idx, frame)
        if request.emit:
            self.frame_decoded.emit(frame_idx, rgb_to_qimage(frame))
        if request.prefetch:
            radius = self.cache.prefetch_radius(frame.nbytes)
            # Backwards first: just after a seek those frames are still in the decoder's
            # recent frames and cost a colour conversion only.
            around = [frame_idx - d for d in range(1, radius + 1)]
            around += [frame_idx + d for d in range(1, radius + 1)]
            self._prefetch = [i for i in around if 0 <= i < len(reader)]

    def _prefetch_one(self, reader) -> None:
        from meldae.video import ReadInterrupted

        frame_idx = self._prefetch.pop(0)
        if frame_idx in self.cache:
            return
        try:
            self.cache.put(frame_idx, reader.read(frame_idx, interrupt=self._slot.has_pending))
        except ReadInterrupted:
            self._prefetch = []   # a request came in: it decides what to prefetch next
