"""Per-frame model scores of one clip: ``ClipScores``, filled window by window.

There is one scoring path. The streaming engine (``meldae.infer.engine.predict_frames``,
wrapped by ``iter_predict`` for video files) yields ``WindowResult``s, and ``ClipScores.add``
copies each into the clip's arrays. Training validation and ``meldae evaluate`` (through
``meldae.train.validate.score_clips``), ``meldae infer`` (``predict_video``) and the app
(``app.review.inference_worker.ScoreController``) all collect their scores this way, so a threshold
chosen on validation means the same thing wherever it is used. numpy only: no torch, no Qt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from meldae.atomic import atomic_savez


def _no_windows() -> np.ndarray:
    return np.zeros((0, 2), np.int64)


@dataclass
class ClipScores:
    """A model's per-frame outputs for one clip; frames ``[0, done)`` are final.

    Frames not scored yet hold NaN in ``loc`` and ``state``. Attention is kept as float16
    (a one-hour 60 fps clip at G=10: 43 MB); it is for display only.
    """

    loc: np.ndarray                       # (n,) float32 in [0, 1]; 0 where no face; NaN: not yet
    state: np.ndarray | None              # (n,) float32; None for a scorer without a state head
    face_found: np.ndarray                # (n,) bool
    fps: Fraction = Fraction(0)           # 0 when unknown
    name: str = ""                        # the clip's name (validation, evaluation)
    attention: np.ndarray | None = None   # (n, G, G) float16
    boxes: np.ndarray | None = None       # (n, 4) float32 face boxes, NaN where no face (app)
    # The windows the model ran, for Acc_ME; None for a scorer without an ME head (baselines):
    windows: np.ndarray | None = field(default_factory=_no_windows)   # (W, 2) int64 [start, stop)
    window_me: np.ndarray | None = field(      # (W,) float32 clip-level ME probability per window
        default_factory=lambda: np.zeros(0, np.float32))
    done: int = 0
    complete: bool = False
    attention_max: float = 0.0
    info: dict = field(default_factory=dict)   # the scoring checkpoint's JSON (post-processing)

    @classmethod
    def empty(cls, n_frames: int, fps: Fraction, name: str = "") -> ClipScores:
        """Arrays for ``n_frames`` frames, nothing scored."""
        return cls(loc=np.full(n_frames, np.nan, np.float32),
                   state=np.full(n_frames, np.nan, np.float32),
                   face_found=np.zeros(n_frames, bool), fps=Fraction(fps), name=name)

    @classmethod
    def from_arrays(cls, loc: np.ndarray, state: np.ndarray | None = None,
                    face_found: np.ndarray | None = None, fps: Fraction = Fraction(0),
                    name: str = "") -> ClipScores:
        """Complete scores from whole arrays (a scorer other than the engine: baselines).

        Args:
            loc: ``(n,)`` per-frame ME scores.
            state: ``(n,)`` speaking probability, or None (no state head).
            face_found: ``(n,)`` bool; default every frame.
            fps: the frame rate, if known.
            name: the clip's name.
        """
        loc = np.asarray(loc, np.float32)
        faces = np.ones(len(loc), bool) if face_found is None else np.asarray(face_found, bool)
        return cls(loc=loc, state=None if state is None else np.asarray(state, np.float32),
                   face_found=faces, fps=Fraction(fps), name=name, windows=None,
                   window_me=None, done=len(loc), complete=True)

    @classmethod
    def collect(cls, results: Iterable, name: str = "",
                progress: Callable[[int, int], None] | None = None) -> ClipScores:
        """All of a run's ``WindowResult``s in one complete ``ClipScores``.

        Args:
            results: the engine's results, covering ``[0, n)`` in order.
            name: the clip's name.
            progress: called with ``(frames_done, total_frames)`` after every result.
        """
        scores = None
        for result in results:
            if scores is None:
                scores = cls.empty(int(result.total_frames), result.fps, name)
            scores.add(result)
            if progress is not None:
                progress(int(result.stop), int(result.total_frames))
        if scores is None:
            raise ValueError(f"{name or 'clip'}: the engine returned no frames")
        scores.finish()
        return scores

    @property
    def n_frames(self) -> int:
        """Frames of the clip."""
        return int(len(self.loc))

    def add(self, result: Any) -> None:
        """Copy a ``meldae.infer.WindowResult`` into the arrays (growing them if needed)."""
        stop = int(result.stop)
        if stop > self.n_frames or result.total_frames > self.n_frames:
            self._grow(max(stop, int(result.total_frames)))
        span = slice(int(result.start), stop)
        self.loc[span] = result.loc_scores
        self.state[span] = result.state_scores
        self.face_found[span] = result.face_found
        att = np.asarray(result.attention)
        if self.attention is None:
            self.attention = np.zeros((self.n_frames, *att.shape[1:]), np.float16)
        self.attention[span] = att
        if att.size:
            self.attention_max = max(self.attention_max, float(att.max()))
        self._add_windows(result)
        self.done = max(self.done, stop)

    def _add_windows(self, result: Any) -> None:
        spans = np.asarray(getattr(result, "windows", _no_windows()), np.int64).reshape(-1, 2)
        me = np.asarray(getattr(result, "window_me", np.zeros(0)), np.float32).ravel()
        if len(spans):
            old_spans = _no_windows() if self.windows is None else self.windows
            old_me = np.zeros(0, np.float32) if self.window_me is None else self.window_me
            self.windows = np.concatenate([old_spans, spans])             # (W, 2)
            self.window_me = np.concatenate([old_me, me])                 # (W,)

    def _grow(self, n_frames: int) -> None:
        extra = n_frames - self.n_frames
        self.loc = np.concatenate([self.loc, np.full(extra, np.nan, np.float32)])
        self.state = np.concatenate([self.state, np.full(extra, np.nan, np.float32)])
        self.face_found = np.concatenate([self.face_found, np.zeros(extra, bool)])
        if self.attention is not None:
            pad = np.zeros((extra, *self.attention.shape[1:]), np.float16)
            self.attention = np.concatenate([self.attention, pad])

    def finish(self) -> None:
        """Mark complete, trimmed to the frames that were scored (a video may decode fewer
        frames than its header said)."""
        n = self.done
        self.loc, self.face_found = self.loc[:n], self.face_found[:n]
        if self.state is not None:
            self.state = self.state[:n]
        if self.attention is not None:
            self.attention = self.attention[:n]
        self.complete = True

    def score_arrays(self) -> dict[str, np.ndarray]:
        """The per-frame scores as the public ``.npz`` files hold them (``meldae infer``,
        ``meldae evaluate --scores-out``): ``loc_scores``, ``state_scores`` (float32),
        ``face_found`` (bool), ``fps`` (float64) and ``fps_fraction`` (numerator,
        denominator)."""
        state = self.state if self.state is not None else np.zeros(self.n_frames, np.float32)
        return dict(loc_scores=np.asarray(self.loc, np.float32),
                    state_scores=np.asarray(state, np.float32),
                    face_found=np.asarray(self.face_found, bool),
                    fps=np.float64(self.fps),
                    fps_fraction=np.array([self.fps.numerator, self.fps.denominator], np.int64))

    def save_scores(self, path: Path) -> Path:
        """Write :meth:`score_arrays` to ``path`` (.npz) atomically; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_savez(path, **self.score_arrays())
        return path

    def save(self, path: Path) -> None:
        """Write a complete result to ``path`` (.npz, the app's score cache) atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(loc=self.loc, state=self.state, face_found=self.face_found,
                      fps=np.array([self.fps.numerator, self.fps.denominator], np.int64),
                      info=np.array(json.dumps(self.info)))
        if self.attention is not None:
            arrays["attention"] = self.attention
        if self.boxes is not None:
            arrays["boxes"] = self.boxes
        atomic_savez(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> ClipScores:
        """Read a result written by :meth:`save` (raises OSError/ValueError/KeyError)."""
        with np.load(path, allow_pickle=False) as data:
            num, den = (int(v) for v in data["fps"])
            scores = cls(loc=data["loc"], state=data["state"], face_found=data["face_found"],
                         fps=Fraction(num, den),
                         attention=data["attention"] if "attention" in data else None,
                         boxes=data["boxes"] if "boxes" in data else None,
                         info=json.loads(str(data["info"])))
        scores.done, scores.complete = scores.n_frames, True
        if scores.attention is not None and scores.attention.size:
            scores.attention_max = float(scores.attention.max())
        return scores
