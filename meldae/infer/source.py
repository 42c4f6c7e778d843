"""Face crops decoded in a background thread and handed over through a bounded queue.

Decoding and the face pipeline (PyAV, OpenCV and dlib release the GIL for most of their
work) then overlap the model's forward passes. The queue is bounded, so the producer never
runs more than ``maxsize`` frames ahead: memory stays O(queue), whatever the video's length.
Closing the stream stops the thread promptly and closes the underlying frame generator (and
with it the video file) in the thread that ran it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

_POLL_S = 0.05


@dataclass(frozen=True)
class CropFrame:
    """One frame's face crop as the engine needs it."""

    frame_idx: int
    crop: np.ndarray        # (S, S, 3) uint8 RGB; zeros when no face
    face_found: bool


@dataclass(frozen=True)
class _End:
    """End-of-stream marker; ``error`` is the producer's exception, if any."""

    error: BaseException | None = None


class CropStream:
    """Iterate ``CropFrame``s produced by ``make_frames()`` in a background thread.

    Use as a context manager (or call ``close``): leaving it stops and joins the thread.
    The producer's exception, if any, is re-raised in the consumer when it reaches it.
    """

    def __init__(self, make_frames: Callable[[], Iterator], maxsize: int = 64,
                 name: str = "meldae-crops") -> None:
        """Start the producer thread.

        Args:
            make_frames: called in the thread; returns an iterator of objects with
                ``frame_idx``, ``crop`` and ``face_found`` (e.g. ``meldae.faces.FaceFrame``).
            maxsize: queue bound, in frames.
            name: the thread's name.
        """
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, maxsize))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(make_frames,), name=name,
                                        daemon=True)
        self.frames_produced = 0
        self._thread.start()

    def _put(self, item: object) -> bool:
        """Put ``item`` unless asked to stop; returns False when stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, make_frames: Callable[[], Iterator]) -> None:
        frames = None
        error: BaseException | None = None
        try:
            frames = make_frames()
            for frame in frames:
                item = CropFrame(int(frame.frame_idx), np.asarray(frame.crop),
                                 bool(frame.face_found))
                if not self._put(item):
                    break
                self.frames_produced += 1
        except BaseException as exc:  # handed to the consumer, which re-raises it
            error = exc
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                try:
                    close()   # releases the video file, in the thread that used it
                except Exception:  # closing must not hide the real outcome
                    log.debug("closing the frame generator failed", exc_info=True)
            self._put(_End(error))

    def __iter__(self) -> Iterator[CropFrame]:
        while True:
            item = self._get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def _get(self) -> object:
        while True:
            try:
                return self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    return _End(RuntimeError("the frame producer thread ended unexpectedly"))

    def close(self, timeout: float = 10.0) -> None:
        """Stop the producer and wait for its thread to end."""
        self._stop.set()
        while self._thread.is_alive():
            try:   # unblock a producer waiting on a full queue
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(_POLL_S)
            timeout -= _POLL_S
            if timeout <= 0:
                log.warning("the frame producer thread did not stop in time")
                break

    @property
    def alive(self) -> bool:
        """Whether the producer thread still runs."""
        return self._thread.is_alive()

    def __enter__(self) -> CropStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
