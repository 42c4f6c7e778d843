"""The streaming inference engine: ``iter_predict``.

A video is scored in windows of ``T`` frames that start every ``stride`` frames; the last
window is aligned to the video's end, and a video shorter than ``T`` is padded by repeating
its last frame. Several windows go through the model in one forward pass. Face crops come
from a background thread through a bounded queue (``CropStream``), are kept in a fixed ring
(``CropRing``), and the outputs of overlapping windows are blended with Hann weights
(``StreamBlender``). Memory therefore depends on ``T``, the stride and the batch, never on
the length of the video.

A frame is final once no later window can cover it: once the next regular window starts
after it and the end-aligned last window (which starts at ``n - T`` or later, ``n`` being the
final frame count) cannot reach back to it, i.e. frames before
``min(next_start, frames_received - T)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from meldae.infer.blend import StreamBlender, window_weights
from meldae.infer.buffer import CropRing
from meldae.infer.device import default_batch_size, resolve_device
from meldae.infer.runners import WindowRunner, make_runner
from meldae.infer.source import CropStream

if TYPE_CHECKING:  # pragma: no cover
    from meldae.model import MELDAE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowResult:
    """Scores of frames ``[start, stop)``, final: later windows will not change them."""

    start: int
    stop: int
    total_frames: int
    fps: Fraction
    loc_scores: np.ndarray     # (stop-start,) float32 in [0,1]; 0 where no face
    state_scores: np.ndarray   # (stop-start,) float32 in [0,1]; 0 where no face
    face_found: np.ndarray     # (stop-start,) bool
    attention: np.ndarray      # (stop-start, G, G) float32: mean over queries; 0 where no face
    # The windows the model ran since the previous result (Acc_ME in validation):
    windows: np.ndarray = field(       # (W, 2) int64 [start, stop) of each window's real frames
        default_factory=lambda: np.zeros((0, 2), np.int64))
    window_me: np.ndarray = field(     # (W,) float32 clip-level ME probability of each window
        default_factory=lambda: np.zeros(0, np.float32))


@dataclass(frozen=True)
class _Plan:
    """Window geometry of one run."""

    num_frames: int   # T
    stride: int       # S, 1 <= S <= T
    batch: int        # windows per forward pass
    grid: int         # G

    @property
    def capacity(self) -> int:
        """Frames held at most between two batches: B windows' reach plus one window."""
        return self.batch * self.stride + 2 * self.num_frames


def probe_video(video_path: str | Path) -> tuple[int, Fraction]:
    """The number of frames that decode and the frame rate, without keeping the file open.

    Raises:
        meldae.video.VideoError: the file is missing, empty or not a video.
    """
    from meldae.video import VideoReader

    with VideoReader(video_path) as reader:
        return len(reader), reader.fps


def _make_frames(video_path: Path, face_settings: object, cache_dir: Path | None):
    """A factory for the face-crop generator, called in the producer thread."""
    from meldae.faces import iter_face_crops

    def make() -> Iterator:
        return iter_face_crops(video_path, face_settings, cache_dir=cache_dir)

    return make


def default_face_settings(img_size: int) -> object:
    """``FaceSettings`` cropping at the model's input size."""
    from meldae.faces import FaceSettings

    return FaceSettings(crop_size=img_size)


class _Engine:
    """State of one streaming run: ring, blender, window schedule."""

    def __init__(self, plan: _Plan, runner: WindowRunner, crop_shape: tuple[int, int, int]):
        self.plan = plan
        self.runner = runner
        self.ring = CropRing(plan.capacity, crop_shape)
        self.blender = StreamBlender(window_weights(plan.num_frames), plan.grid, plan.capacity)
        self.next_start = 0          # the next regular window not yet scheduled
        self.ready: list[int] = []   # scheduled window starts, not yet run
        self.ran: list[tuple[int, int, float]] = []   # (start, stop, ME prob) not yet reported

    def push(self, frame_idx: int, crop: np.ndarray, face_found: bool) -> tuple[int, int] | None:
        """Add one frame; returns the newly final span ``(start, stop)`` after a batch ran."""
        self.ring.append(frame_idx, crop, face_found)
        received = self.ring.end
        t, s = self.plan.num_frames, self.plan.stride
        while self.next_start + t <= received:
            self.ready.append(self.next_start)
            self.next_start += s
        if len(self.ready) < self.plan.batch:
            return None
        self._run(self.ready)
        self.ready = []
        return self._finalise(min(self.next_start, received - t))

    def finish(self) -> tuple[int, int] | None:
        """End of stream: run the remaining and the end-aligned window; all frames final."""
        n, t, s = self.ring.end, self.plan.num_frames, self.plan.stride
        if n < t:
            self.ready = [0]   # no regular window fits: one padded window
        elif self.next_start - s + t < n:
            self.ready.append(n - t)   # the last regular window stops short of the end
        for i in range(0, len(self.ready), self.plan.batch):
            self._run(self.ready[i:i + self.plan.batch])
        self.ready = []
        return self._finalise(n)

    def _run(self, starts: list[int]) -> None:
        t, n = self.plan.num_frames, self.ring.end
        loc, state, att, me = self.runner.run(self.ring, starts)   # (B,T), (B,T), (B,T,G,G), (B,)
        for i, st in enumerate(starts):
            valid = min(t, n - st)   # a padded window contributes only its real frames
            self.blender.add(st, loc[i, :valid], state[i, :valid], att[i, :valid])
            self.ran.append((st, st + valid, float(me[i])))

    def _finalise(self, stop: int) -> tuple[int, int] | None:
        start = self.blender.base
        if stop <= start:
            return None
        return start, stop

    def take_windows(self) -> tuple[np.ndarray, np.ndarray]:
        """The windows run since the last call: ``(W, 2)`` spans and ``(W,)`` ME probabilities."""
        ran, self.ran = self.ran, []
        spans = np.asarray([(a, b) for a, b, _ in ran], np.int64).reshape(-1, 2)
        return spans, np.asarray([p for _, _, p in ran], np.float32)

    def take(self, start: int, stop: int) -> tuple[np.ndarray, ...]:
        """Blended outputs of ``[start, stop)`` with no-face frames zeroed; frees them."""
        faces = self.ring.faces(start, stop)
        span = self.blender.pop(stop)
        keep = self.ready[0] if self.ready else self.next_start
        self.ring.release(min(keep, stop, self.ring.end - self.plan.num_frames))
        loc = np.where(faces, span.loc_scores, 0).astype(np.float32)
        state = np.where(faces, span.state_scores, 0).astype(np.float32)
        att = np.where(faces[:, None, None], span.attention, 0).astype(np.float32)
        return loc, state, faces, att


def prepare_model(model: MELDAE | None, device: str) -> tuple[MELDAE, object]:
    """The model (the demo model when None) on the resolved device, in eval mode."""
    dev = resolve_device(device)
    if model is None:
        from meldae.infer.default_model import load_default_model

        model, _ = load_default_model(dev)
    model = model.to(dev)
    model.eval()
    return model, dev


def iter_predict(video_path: str | Path, model: MELDAE | None = None, device: str = "auto",
                 stride: int | None = None, face_settings: object | None = None,
                 cache_dir: Path | None = None, *, batch_size: int | None = None,
                 queue_frames: int = 64) -> Iterator[WindowResult]:
    """Score a video of any length window by window, yielding final frames as they are ready.

    Frames ``[start, stop)`` of successive results cover ``[0, n)`` in order, without gaps.
    Closing the generator (or dropping it) stops the decoding thread and releases the video.

    Args:
        video_path: the video file.
        model: a MELDAE model (moved to ``device``); None loads the bundled demo model.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        stride: frames between window starts, ``1..T``; default ``T // 2``.
        face_settings: ``meldae.faces.FaceSettings``; default crops at the model's input size.
        cache_dir: the face-crop cache; default ``meldae.paths.cache_dir()``.
        batch_size: windows per forward pass; default 16 on CUDA, 4 on CPU.
        queue_frames: how many decoded frames the background thread may run ahead.

    Yields:
        ``WindowResult`` for each newly final span of frames.

    Raises:
        meldae.video.VideoError: the file cannot be read, or no frame decodes.
        ValueError: a stride outside ``1..T``.
    """
    video_path = Path(video_path)
    total, fps = probe_video(video_path)
    model, dev = prepare_model(model, device)
    if face_settings is None:
        face_settings = default_face_settings(model.cfg.img_size)
    crop_size = int(getattr(face_settings, "crop_size", model.cfg.img_size))
    yield from predict_frames(
        _make_frames(video_path, face_settings, cache_dir), model, dev, crop_size=crop_size,
        total_frames=total, fps=fps, stride=stride, batch_size=batch_size,
        queue_frames=queue_frames, name=str(video_path))


class FrameScorer:
    """One video's engine fed frame by frame: the push-based form of ``predict_frames``.

    The folder pipeline (``meldae.infer.workers``) drives one per video in flight, with the
    frames coming from decode processes; ``predict_frames`` drives one from a thread. The same
    pushes give the same results, whoever makes them.
    """

    def __init__(self, model: MELDAE, device: object, *, crop_size: int, total_frames: int,
                 fps: Fraction, stride: int | None = None, batch_size: int | None = None,
                 name: str = "video") -> None:
        """See ``predict_frames`` for the arguments."""
        plan = _make_plan(model, device, stride, batch_size)
        self._engine = _Engine(plan, make_runner(model, device, plan.capacity),
                               (crop_size, crop_size, 3))
        self.total_frames = int(total_frames)
        self.fps = fps
        self.name = name
        self.any_face = False

    def push(self, frame_idx: int, crop: np.ndarray, face_found: bool) -> WindowResult | None:
        """Add frame ``frame_idx`` (0, 1, 2, ... in order); a result when frames became final."""
        span = self._engine.push(frame_idx, crop, face_found)
        if span is None:
            return None
        return self._result(span, max(self.total_frames, self._engine.ring.end))

    def finish(self) -> WindowResult | None:
        """End of the stream: the last result (covering every remaining frame).

        Raises:
            meldae.video.VideoError: no frame was pushed.
        """
        n = self._engine.ring.end
        if n == 0:
            from meldae.video import VideoError

            raise VideoError(self.name, "no frame could be decoded")
        span = self._engine.finish()
        result = None if span is None else self._result(span, n)
        if n != self.total_frames:
            log.warning("%s: %d frames decoded, %d expected", self.name, n, self.total_frames)
        if not self.any_face:
            log.warning("%s: no face found in any of its %d frames: all scores are 0",
                        self.name, n)
        return result

    def _result(self, span: tuple[int, int], total: int) -> WindowResult:
        result = _result(self._engine, span, total, self.fps)
        self.any_face |= bool(result.face_found.any())
        return result


def predict_frames(make_frames: Callable[[], Iterator], model: MELDAE, device: object, *,
                   crop_size: int, total_frames: int, fps: Fraction, stride: int | None = None,
                   batch_size: int | None = None, queue_frames: int = 64,
                   name: str = "video") -> Iterator[WindowResult]:
    """The engine of ``iter_predict`` over any source of face crops.

    Args:
        make_frames: called in the producer thread; returns an iterator of objects with
            ``frame_idx`` (0, 1, 2, ... in order), ``crop`` ``(S, S, 3)`` uint8 and
            ``face_found``.
        model: the model, already on ``device`` and in eval mode.
        device: a ``torch.device``.
        crop_size: S.
        total_frames: the expected frame count (progress; the stream decides the real one).
        fps: the frame rate reported in the results.
        stride, batch_size, queue_frames: see ``iter_predict``.
        name: how warnings name the source.
    """
    scorer = FrameScorer(model, device, crop_size=crop_size, total_frames=total_frames, fps=fps,
                         stride=stride, batch_size=batch_size, name=name)
    stream = CropStream(make_frames, maxsize=queue_frames)
    try:
        for frame in stream:
            result = scorer.push(frame.frame_idx, frame.crop, frame.face_found)
            if result is not None:
                yield result
        result = scorer.finish()
        if result is not None:
            yield result
    finally:
        stream.close()


def _make_plan(model: MELDAE, device: object, stride: int | None,
               batch_size: int | None) -> _Plan:
    t = int(model.cfg.num_frames)
    stride = t // 2 if stride is None else int(stride)
    if not 1 <= stride <= t:
        raise ValueError(f"stride must be between 1 and the window length {t}, got {stride}")
    batch = default_batch_size(device) if batch_size is None else int(batch_size)
    if batch < 1:
        raise ValueError(f"batch size must be at least 1, got {batch}")
    return _Plan(t, max(1, stride), batch, int(model.cfg.region_grid))


def _result(engine: _Engine, span: tuple[int, int], total: int, fps: Fraction) -> WindowResult:
    loc, state, faces, att = engine.take(*span)
    windows, window_me = engine.take_windows()
    return WindowResult(start=span[0], stop=span[1], total_frames=total, fps=fps,
                        loc_scores=loc, state_scores=state, face_found=faces, attention=att,
                        windows=windows, window_me=window_me)
