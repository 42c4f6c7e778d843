"""Scoring whole clips with a model, for validation and ``meldae evaluate``.

There is one scoring engine: a clip's crops go through the same streaming engine as
``meldae infer`` and the app (``meldae.infer.engine.predict_frames``: overlapping windows of
T frames, blended per frame with the same weights, 0 where no face was found), and its
results are collected into a ``meldae.scores.ClipScores``. A threshold chosen here therefore
means the same thing in the app. The per-frame scores then become segments
(``meldae.postprocess.PostProcessing``) and are matched against the ground truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from meldae.scores import ClipScores

log = logging.getLogger(__name__)


@dataclass
class EvalClip:
    """One clip's crops and ground truth, as validation, evaluation and baselines need them."""

    name: str
    crops: np.ndarray                  # (N, S, S, 3) uint8 (a read-only memmap is fine)
    face_found: np.ndarray             # (N,) bool
    me_segments: list[tuple[int, int]]  # ground-truth MEs, inclusive frames
    speaking: np.ndarray               # (N,) bool: the subject speaks
    me_labels: list[str] = field(default_factory=list)   # per ME segment ("" when none)
    subject: str = ""
    fps: Fraction | None = None        # frame rate (UF1 tells micro from macro by duration)

    @property
    def n_frames(self) -> int:
        """Frames in the clip."""
        return int(len(self.crops))


class _Crop(NamedTuple):
    """One frame of an ``EvalClip`` as the engine reads it."""

    frame_idx: int
    crop: np.ndarray      # (S, S, 3) uint8
    face_found: bool


def _clip_frames(clip: EvalClip):
    """A factory of the clip's frames for the engine (called in its producer thread)."""
    def make():
        faces = np.asarray(clip.face_found, bool)
        return (_Crop(i, np.asarray(clip.crops[i]), bool(faces[i])) for i in range(clip.n_frames))

    return make


def score_clip(model, clip: EvalClip, stride: int, batch_size: int = 8) -> ClipScores:
    """Run ``model`` over one clip with the streaming engine and collect its scores.

    Args:
        model: a ``MELDAE`` in eval mode (its device is used).
        clip: the clip's crops and ground truth.
        stride: frames between window starts.
        batch_size: windows per forward pass.

    Returns:
        The clip's ``ClipScores`` (named after the clip; ``windows`` and ``window_me`` give
        Acc_ME); no attention is kept.
    """
    from meldae.infer.engine import predict_frames

    fps = clip.fps or Fraction(0)
    if clip.n_frames == 0:
        scores = ClipScores.empty(0, fps, clip.name)
        scores.finish()
        return scores
    device = next(model.parameters()).device
    results = predict_frames(_clip_frames(clip), model, device,
                             crop_size=int(clip.crops.shape[1]), total_frames=clip.n_frames,
                             fps=fps, stride=stride, batch_size=batch_size, name=clip.name)
    scores = ClipScores.collect(results, clip.name)
    scores.attention = None           # validation needs none; keeps the DDP gather small
    return scores


def score_clips(model, clips: list[EvalClip], stride: int, batch_size: int = 8) -> list[ClipScores]:
    """``score_clip`` for every clip, the model switched to eval mode (and back)."""
    was_training = model.training
    model.eval()
    try:
        return [score_clip(model, clip, stride, batch_size) for clip in clips]
    finally:
        model.train(was_training)
