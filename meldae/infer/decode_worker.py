"""The decode-and-faces side of folder inference: what one worker process runs.

A worker takes video indices from a task queue, decodes each video and runs the face
pipeline on it (``meldae.faces.iter_face_crops``, reading or writing the crop cache), and
sends the crops to the model process in chunks through its own pipe. A pipe holds little
(the OS buffer), so a worker waits while the model process is behind: memory stays bounded.
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
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_POLL_S = 0.1


def _put(results, stop, item: tuple) -> bool:
    """Send ``item`` to the model process unless asked to stop; False when stopped or gone."""
    if stop.is_set():
        return False
    try:
        results.send(item)
        return True
    except (BrokenPipeError, EOFError, OSError):   # the model process stopped reading
        return False


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
                       cache_dir: str | None, chunk_frames: int) -> None:
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
    """
    from meldae.cli import user_errors

    expected = (*user_errors(), ValueError, RuntimeError, OSError)
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
    results.close()
