"""Live model scores: a worker thread around ``meldae.infer.iter_predict`` and its controller.

The worker imports torch only when it runs, so the window opens fast. The controller
serves cached scores at once, otherwise runs the worker, fills a ``meldae.scores.ClipScores``
window by window (``ClipScores.add`` of the engine's results: the scoring path of validation,
``meldae evaluate`` and ``meldae infer`` too), throttles redraw notifications, and stores
complete results in the cache.
The GUI thread never waits on the model (``shutdown`` at exit cancels first, then waits).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from meldae.project.score_cache import ScoreCache, score_key
from meldae.scores import ClipScores
from app.workers import TrackedThread, retire

log = logging.getLogger(__name__)

_MODEL_LOCK = threading.Lock()
_MODEL_CACHE: dict[tuple[str, str], tuple[object, dict]] = {}


def load_model_cached(checkpoint: Path | None, device: str) -> tuple[object, dict]:
    """Load (once per checkpoint and device) the model used for inference.

    Raises:
        meldae.checkpoint.CheckpointError: the checkpoint (or the demo model) is missing.
    """
    from meldae.infer import load_model

    key = (str(checkpoint or "<demo>"), device)
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            _MODEL_CACHE.clear()   # keep one model in memory
            _MODEL_CACHE[key] = load_model(checkpoint, device)
        return _MODEL_CACHE[key]


def forget_loaded_models() -> None:
    """Drop the cached model, so the next load reads the checkpoint file again (a training
    run may have rewritten ``best.safetensors`` in place)."""
    with _MODEL_LOCK:
        _MODEL_CACHE.clear()


def load_face_boxes(video_path: Path, crop_size: int) -> np.ndarray | None:
    """The face boxes of the (now cached) face pass, or None when unavailable."""
    try:
        from meldae.faces import FaceSettings, load_face_crops
    except ImportError:
        return None
    try:
        crops = load_face_crops(video_path, FaceSettings(crop_size=crop_size))
    except Exception as exc:  # noqa: BLE001 (the inset is optional; scores matter)
        log.warning("no face boxes for %s: %s", video_path, exc)
        return None
    return np.asarray(crops.boxes, np.float32)


class InferenceWorker(TrackedThread):
    """Scores one video in a thread; cancel() stops it between windows.

    Signals:
        model_ready(dict): the checkpoint's JSON dict (post-processing settings in meta).
        window_ready(object): a ``meldae.infer.WindowResult``.
        boxes_ready(object): ``(n, 4)`` float32 face boxes after the last window.
        model_missing(str): the checkpoint could not be loaded (the message says why).
        failed(str): the video could not be scored.
        completed(): all windows were delivered.
    """

    model_ready = Signal(dict)
    window_ready = Signal(object)
    boxes_ready = Signal(object)
    model_missing = Signal(str)
    device_missing = Signal(str)
    failed = Signal(str)
    completed = Signal()

    def __init__(self, video_path: Path, checkpoint: Path | None, device: str = "auto",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.video_path = Path(video_path)
        self.checkpoint = checkpoint
        self.device = device

    def run(self) -> None:  # noqa: D102 (QThread entry point)
        from meldae.checkpoint import CheckpointError

        from meldae.infer.device import DeviceError

        try:
            model, info = load_model_cached(self.checkpoint, self.device)
        except DeviceError as exc:    # a GPU asked for and absent: not a missing model
            self.device_missing.emit(str(exc))
            return
        except (CheckpointError, OSError, ValueError) as exc:
            self.model_missing.emit(str(exc))
            return
        device = next(iter(model.parameters()), None)
        self.model_ready.emit(dict(info, device=str(getattr(device, "device", "cpu"))))
        if self._predict(model, info):
            boxes = load_face_boxes(self.video_path, int(model.cfg.img_size))
            if boxes is not None and not self.cancel_requested:
                self.boxes_ready.emit(boxes)
            self.completed.emit()

    def _predict(self, model, info: dict) -> bool:
        from meldae.infer import iter_predict
        from meldae.infer.default_model import validation_stride
        from meldae.video import VideoError

        # the stride the checkpoint was validated with, as meldae infer and evaluate use
        results = iter_predict(self.video_path, model=model, device=self.device,
                               stride=validation_stride(info))
        try:
            for result in results:
                if self.cancel_requested:
                    return False
                self.window_ready.emit(result)
        except (VideoError, OSError, ValueError, RuntimeError) as exc:
            self.failed.emit(str(exc))
            return False
        finally:
            results.close()   # stops iter_predict's decoding thread in this thread
        return not self.cancel_requested


class ScoreController(QObject):
    """Scores of the open clip: from the cache or live from an :class:`InferenceWorker`.

    Signals:
        scores_updated(object): the ``ClipScores`` changed (throttled to ~5 Hz).
        progress(int, int): frames scored, frames in total.
        completed(object): all frames are scored (``ClipScores``; also on a cache hit).
        model_missing(str), device_missing(str), failed(str): see :class:`InferenceWorker`.
        running_changed(bool): a worker started or stopped.
        model_info_changed(object): the JSON of the model now scoring (with ``device``).
        cancelled(object): the user stopped scoring; the partial ``ClipScores`` stay.
    """

    scores_updated = Signal(object)
    progress = Signal(int, int)
    completed = Signal(object)
    model_missing = Signal(str)
    device_missing = Signal(str)
    failed = Signal(str)
    running_changed = Signal(bool)
    model_info_changed = Signal(object)
    cancelled = Signal(object)

    def __init__(self, checkpoint: Path | None = None, device: str = "auto",
                 cache: ScoreCache | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.checkpoint = checkpoint
        self.device = device
        self.cache = cache or ScoreCache()
        self.scores: ClipScores | None = None
        self._key: str | None = None
        self._worker: InferenceWorker | None = None
        self._retired: set[InferenceWorker] = set()
        self._dirty = False
        self._notify = QTimer(self)
        self._notify.setInterval(200)
        self._notify.timeout.connect(self._flush)

    @property
    def key(self) -> str | None:
        """The cache key of the open clip's scores (None when it could not be computed)."""
        return self._key

    @property
    def running(self) -> bool:
        """True while a worker scores the open clip."""
        return self._worker is not None

    def start(self, video_path: Path, n_frames: int, fps, force: bool = False) -> None:
        """Show the scores of ``video_path``: cached at once, else computed live
        (``force``: always computed again, e.g. Re-score)."""
        self.cancel()
        self.scores = ClipScores.empty(n_frames, fps)
        try:
            self._key = score_key(Path(video_path), self.checkpoint)
        except OSError as exc:   # the checkpoint (or the video) is not there
            self._key = None
            QTimer.singleShot(0, lambda m=self._missing_message(exc): self.model_missing.emit(m))
            return
        cached = None if force else self.cache.get(self._key)
        if cached is not None:
            self.scores = cached
            QTimer.singleShot(0, self._emit_cached)
            return
        worker = InferenceWorker(Path(video_path), self.checkpoint, self.device)
        worker.model_ready.connect(self._on_worker_model_ready)
        worker.window_ready.connect(self._on_worker_window_ready)
        worker.boxes_ready.connect(self._on_worker_boxes_ready)
        worker.completed.connect(self._on_worker_completed)
        worker.failed.connect(self._on_worker_failed)
        worker.model_missing.connect(self._on_worker_model_missing)
        worker.device_missing.connect(self._on_worker_device_missing)
        self._worker = worker
        worker.start()
        self._notify.start()
        self.running_changed.emit(True)

    def _missing_message(self, exc: OSError) -> str:
        from meldae.paths import demo_checkpoint

        if self.checkpoint is None:
            return f"{demo_checkpoint()}: the bundled demo model is missing"
        return f"{exc.filename or self.checkpoint}: {exc.strerror or exc}"

    def _emit_cached(self) -> None:
        scores = self.scores
        if scores is None or not scores.complete:
            return
        self.model_info_changed.emit(dict(scores.info or {}, cached=True))
        self.scores_updated.emit(scores)
        self.progress.emit(scores.n_frames, scores.n_frames)
        self.completed.emit(scores)

    def cancel(self) -> None:
        """Stop scoring the open clip (returns at once; the worker ends on its own)."""
        worker, self._worker = self._worker, None
        self._notify.stop()
        if worker is None:
            return
        worker.blockSignals(True)
        retire(self._retired, worker)
        self.running_changed.emit(False)

    def cancel_by_user(self) -> None:
        """Cancel and say so (``cancelled``): the scores so far stay for review."""
        was_running = self._worker is not None
        self.cancel()
        if was_running and self.scores is not None:
            self.scores_updated.emit(self.scores)
            self.cancelled.emit(self.scores)

    def shutdown(self) -> None:
        """Cancel, then wait for every worker (application exit only)."""
        self.cancel()
        for worker in list(self._retired):
            worker.shutdown(30000)
        self._retired.clear()

    def _is_current(self) -> bool:
        return self.sender() is self._worker and self._worker is not None

    def _on_worker_model_ready(self, info: dict) -> None:
        if self._is_current() and self.scores is not None:
            self.scores.info = info
            self.model_info_changed.emit(info)

    def _on_worker_window_ready(self, result) -> None:
        if not self._is_current() or self.scores is None:
            return
        self.scores.add(result)
        self._dirty = True
        self.progress.emit(self.scores.done, self.scores.n_frames)

    def _on_worker_boxes_ready(self, boxes) -> None:
        if self._is_current() and self.scores is not None:
            self.scores.boxes = boxes
            self._dirty = True

    def _flush(self) -> None:
        if self._dirty and self.scores is not None:
            self._dirty = False
            self.scores_updated.emit(self.scores)

    def _finish_worker(self) -> None:
        worker, self._worker = self._worker, None
        self._notify.stop()
        if worker is not None:
            retire(self._retired, worker)
        self.running_changed.emit(False)

    def _on_worker_completed(self) -> None:
        if not self._is_current() or self.scores is None:
            return
        self._finish_worker()
        self.scores.complete = True
        self.scores.done = self.scores.n_frames
        if self._key is not None:
            self.cache.put(self._key, self.scores)
        self._dirty = False
        self.scores_updated.emit(self.scores)
        self.completed.emit(self.scores)

    def _on_worker_failed(self, message: str) -> None:
        if self._is_current():
            self._finish_worker()
            self.failed.emit(message)

    def _on_worker_model_missing(self, message: str) -> None:
        if self._is_current():
            self._finish_worker()
            self.model_missing.emit(message)

    def _on_worker_device_missing(self, message: str) -> None:
        if self._is_current():
            self._finish_worker()
            self.device_missing.emit(message)
