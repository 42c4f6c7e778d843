"""The decode-and-faces side of folder inference: what one worker process runs.

A worker takes video indices from a task queue, decodes each video and runs the face
pipeline on it (``meldae.faces.iter_face_crops``, reading or writing the crop cache), and
sends the crops to the model process in chunks through its own pipe, from a sender thread
that may be a few chunks (``chunks_ahead``) ahead of what the model process has read, and no
more: the decoding overlaps the forward passes, and memory stays bounded.
Only this worker writes to the pipe and the model process holds no copy of the writing
end, so when the worker dies, even in the middle of a message, the reader gets an
end-of-file instead of waiting for ever. It never imports torch: a worker costs a Python
interpreter, numpy, PyAV, OpenCV and dlib, nothing more.

Messages (tuples, small and picklable):

* ``("start", worker, video, total_frames, fps_num, fps_den)``
* ``("frames", worker, video, first_frame_idx, crops (k, S, S, 3) uint8, faces (k,) bool)``
* ``("end", worker, video)``
* ``("error", worker, video, message)``: this video failed; the worker goes on to the next
* ``("exit", worker)``: the worker reached the end of the task queue and stops
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_POLL_S = 0.1


class _Sender:
    """Sends messages down the pipe from a thread, a few chunks ahead of the decoding.

    A pipe takes a message only as fast as the model process reads it, and the model process
    reads between forward passes: sending from the decoding thread itself would stop the
    decoding for as long as a forward pass. The bounded queue lets the worker decode up to
    ``ahead`` chunks further, and no more (memory stays bounded).
    """

    def __init__(self, conn, stop, ahead: int = 4) -> None:
        self.conn = conn
        self.stop = stop
        self.broken = threading.Event()
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, ahead))
        self.thread = threading.Thread(target=self._run, name="meldae-send", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            try:
                self.conn.send(item)
            except (BrokenPipeError, EOFError, OSError):   # the model process stopped reading
                self.broken.set()
                return

    def put(self, item: tuple | None) -> bool:
        """Queue ``item`` for sending; False when asked to stop or the pipe is broken."""
        while not (self.stop.is_set() or self.broken.is_set()):
            try:
                self.queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """Send what is queued, then end the thread and close the pipe."""
        if self.put(None):
            self.thread.join()
        self.conn.close()


def _put(sender: _Sender, stop, item: tuple) -> bool:
    """Queue ``item`` for the model process; False when stopped."""
    return sender.put(item)


def _send_video(worker: int, index: int, video: Path, face_settings, cache_dir,
                chunk_frames: int, results, stop) -> bool:
    """Stream one video's crops; False when asked to stop."""
    from meldae.faces import iter_face_crops
    from meldae.video import VideoReader

    with VideoReader(video) as reader:
        total, fps = len(reader), reader.fps
    if not _put(results, stop, ("start", worker, index, total, fps.numerator, fps.denominator)):
        return False
    crops: list[np.ndarray] = []
    faces: list[bool] = []
    first = 0
    frames = iter_face_crops(video, face_settings, cache_dir=cache_dir)
    try:
        for frame in frames:
            crops.append(np.asarray(frame.crop))
            faces.append(bool(frame.face_found))
            if len(crops) == chunk_frames:
                chunk = ("frames", worker, index, first, np.stack(crops), np.asarray(faces))
                if not _put(results, stop, chunk):
                    return False
                first += len(crops)
                crops, faces = [], []
    finally:
        frames.close()   # stopping early leaves no half-written cache entry
    if crops and not _put(results, stop, ("frames", worker, index, first, np.stack(crops),
                                          np.asarray(faces))):
        return False
    return _put(results, stop, ("end", worker, index))


def decode_worker_main(worker: int, videos: list[str], tasks, results, stop, face_settings,
                       cache_dir: str | None, chunk_frames: int, chunks_ahead: int = 4) -> None:
    """Entry point of a worker process (``multiprocessing`` spawn target).

    Args:
        worker: this worker's number.
        videos: every video of the run, as strings; tasks name them by index.
        tasks: a queue of video indices, then ``None`` (stop).
        results: this worker's sending end of its pipe to the model process.
        stop: an event the model process sets to stop every worker early.
        face_settings: ``meldae.faces.FaceSettings``.
        cache_dir: the crop cache root (None: the default).
        chunk_frames: frames per ``"frames"`` message.
        chunks_ahead: messages the worker may prepare before the model process reads them.
    """
    from meldae.cli import user_errors

    expected = (*user_errors(), ValueError, RuntimeError, OSError)
    sender = _Sender(results, stop, chunks_ahead)
    try:
        _work(worker, videos, tasks, sender, stop, face_settings, cache_dir, chunk_frames,
              expected)
    finally:
        sender.close()


def _work(worker: int, videos: list[str], tasks, results: _Sender, stop, face_settings,
          cache_dir: str | None, chunk_frames: int, expected: tuple) -> None:
    """Decode videos from ``tasks`` until the ``None`` that ends them, or a stop."""
    while not stop.is_set():
        try:
            index = tasks.get(timeout=_POLL_S)
        except queue.Empty:
            continue
        if index is None:
            break
        try:
            if not _send_video(worker, index, Path(videos[index]), face_settings, cache_dir,
                               chunk_frames, results, stop):
                return
        except expected as exc:
            _put(results, stop, ("error", worker, index, str(exc)))
        except Exception as exc:  # one bad file must not stop the worker
            log.debug("unexpected failure on %s", videos[index], exc_info=True)
            _put(results, stop, ("error", worker, index,
                                 f"unexpected {type(exc).__name__}: {exc}"))
    _put(results, stop, ("exit", worker))
