"""Whole-video predictions: ``predict_video`` and writing them (``.npz``, ``.eaf``, ``.csv``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from meldae.infer.default_model import (
    DEFAULT_POSTPROCESS,
    load_default_model,
    postprocess_settings,
    validation_stride,
)
from meldae.infer.engine import iter_predict
from meldae.scores import ClipScores, atomic_savez

if TYPE_CHECKING:  # pragma: no cover
    from meldae.annotations import ClipAnnotations
    from meldae.model import MELDAE

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class VideoPrediction:
    """Per-frame scores of a whole video and the segments found in them."""

    loc_scores: np.ndarray     # (n,) float32 in [0,1]; 0 where no face
    state_scores: np.ndarray   # (n,) float32 in [0,1]; 0 where no face
    face_found: np.ndarray     # (n,) bool
    attention: np.ndarray      # (n, G, G) float32
    segments: np.ndarray       # (K, 2) int64, inclusive onset/offset
    fps: Fraction
    threshold: float
    min_length: int = 1
    merge_gap: int = 0
    state_threshold: float = 0.5   # speaking where state_scores >= this (chosen on validation)

    @property
    def n_frames(self) -> int:
        """Number of frames scored."""
        return int(len(self.loc_scores))


def find_segments(scores: np.ndarray, valid: np.ndarray, threshold: float, min_length: int,
                  merge_gap: int) -> np.ndarray:
    """Segments of ``scores`` above ``threshold``, never crossing a frame without a face.

    Returns:
        ``(K, 2)`` int64 inclusive onsets/offsets.
    """
    from meldae.metrics import segments_from_scores

    found = segments_from_scores(scores, threshold=threshold, min_length=min_length,
                                 merge_gap=merge_gap, valid=valid)
    return np.asarray([(int(a), int(b)) for a, b in found], dtype=np.int64).reshape(-1, 2)


def predict_video(video_path: str | Path, model: MELDAE | None = None, device: str = "auto",
                  stride: int | None = None, face_settings: object | None = None,
                  cache_dir: Path | None = None, *, checkpoint_info: dict | None = None,
                  threshold: float | None = None, min_length: int | None = None,
                  merge_gap: int | None = None, batch_size: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> VideoPrediction:
    """Score a whole video and find its micro-expression segments.

    Memory: the per-frame results of the whole video (``n * (G*G + 3) * 4`` bytes, about
    400 bytes a frame for G = 10); the decoding and the model run in bounded memory.

    Args:
        video_path: the video file.
        model: a MELDAE model; None loads the bundled demo model (and its meta).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        stride: frames between window starts (default: the stride the checkpoint was
            validated with, else ``T // 2``).
        face_settings: ``meldae.faces.FaceSettings`` (default: crops at the model's size).
        cache_dir: the face-crop cache (default ``meldae.paths.cache_dir()``).
        checkpoint_info: the checkpoint's JSON dict; its meta gives the post-processing
            chosen on validation (threshold, min_length, merge_gap).
        threshold, min_length, merge_gap: override the meta's (or the default) values
            (the speaking-state threshold always comes from the meta, else 0.5).
        batch_size: windows per forward pass.
        progress: called with ``(frames_done, total_frames)`` after every result.

    Raises:
        meldae.video.VideoError: the video cannot be read.
    """
    if model is None:
        model, checkpoint_info = load_default_model(device)
    post = postprocess_settings(checkpoint_info)
    for key, value in (("threshold", threshold), ("min_length", min_length),
                       ("merge_gap", merge_gap)):
        if value is not None:
            post[key] = value
    if stride is None:
        stride = validation_stride(checkpoint_info)
    results = iter_predict(video_path, model, device, stride, face_settings, cache_dir,
                           batch_size=batch_size)
    scores = ClipScores.collect(results, Path(video_path).stem, progress)
    loc, state, faces = scores.loc, scores.state, scores.face_found
    attention = np.asarray(scores.attention, np.float32)
    segments = find_segments(loc, faces, float(post["threshold"]), int(post["min_length"]),
                             int(post["merge_gap"]))
    return VideoPrediction(loc, state, faces, attention, segments, scores.fps,
                           float(post["threshold"]), int(post["min_length"]),
                           int(post["merge_gap"]), float(post["state_threshold"]))


def predicted_annotations(pred: VideoPrediction) -> ClipAnnotations:
    """The prediction as an annotation document: ME segments and speaking intervals.

    ME segments carry their apex (the frame of highest score) and their mean score;
    speaking intervals are the runs where the state score reaches ``state_threshold``.
    """
    from meldae.annotations import ClipAnnotations, Segment, Source

    me = []
    for onset, offset in pred.segments.tolist():
        scores = pred.loc_scores[onset:offset + 1]
        me.append(Segment(onset, offset, apex=onset + int(np.argmax(scores)),
                          source=Source.PREDICTED, score=float(scores.mean())))
    speaking = [Segment(a, b, source=Source.PREDICTED, score=float(pred.state_scores[a:b + 1].mean()))
                for a, b in find_segments(pred.state_scores, pred.face_found,
                                          pred.state_threshold, 1, 0).tolist()]
    return ClipAnnotations(segments=me, speaking=speaking)


def _manual_document(eaf_path: Path, fps: Fraction) -> ClipAnnotations:
    """The annotator's part of an existing EAF (kept when predictions are written beside).

    Manual segments and reviewed (accepted or rejected) predictions are kept; unreviewed
    predictions are replaced by the new ones.
    """
    from meldae.annotations import ClipAnnotations, ReviewState, Source, load_eaf

    def keep(seg) -> bool:
        return seg.source != Source.PREDICTED or seg.review != ReviewState.UNREVIEWED

    if not eaf_path.exists():
        return ClipAnnotations(segments=[], speaking=[])
    existing = load_eaf(eaf_path, fps)
    return ClipAnnotations(
        segments=[s for s in existing.segments if keep(s)],
        speaking=[s for s in existing.speaking if keep(s)],
        review=existing.review,
    )


def save_prediction(pred: VideoPrediction, out_dir: str | Path, name: str,
                    media_path: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``<name>.npz``, ``<name>.eaf`` and ``<name>.scores.csv`` into ``out_dir``.

    The npz holds ``loc_scores``, ``state_scores`` (float32), ``face_found`` (bool),
    ``segments`` (K x 2 int64, inclusive), ``fps`` (float64), ``fps_fraction`` (numerator,
    denominator), ``attention`` (n x G x G float32), ``threshold``, ``min_length``, ``merge_gap``
    and ``state_threshold``. The EAF holds the predicted ME and speaking tiers and links the score
    CSV; when ``<name>.eaf`` already exists, its manual annotations are kept.

    Returns:
        The paths of the ``.npz`` and the ``.eaf``.

    Raises:
        meldae.annotations.AnnotationError: an existing EAF cannot be read, or writing fails.
    """
    from meldae.annotations import save_eaf, save_scores_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    npz_path, eaf_path = out / f"{name}.npz", out / f"{name}.eaf"
    csv_path = out / f"{name}.scores.csv"
    atomic_savez(
        npz_path, loc_scores=pred.loc_scores.astype(np.float32),
        state_scores=pred.state_scores.astype(np.float32),
        face_found=pred.face_found.astype(bool), segments=pred.segments.astype(np.int64),
        fps=np.float64(pred.fps),
        fps_fraction=np.array([pred.fps.numerator, pred.fps.denominator], dtype=np.int64),
        attention=pred.attention.astype(np.float32), threshold=np.float64(pred.threshold),
        min_length=np.int64(pred.min_length), merge_gap=np.int64(pred.merge_gap),
        state_threshold=np.float64(pred.state_threshold))
    save_scores_csv(csv_path, pred.loc_scores, pred.state_scores, pred.fps)
    doc = _manual_document(eaf_path, pred.fps)
    save_eaf(doc, eaf_path, pred.fps, media_path=Path(media_path) if media_path else None,
             predicted=predicted_annotations(pred), scores_csv=csv_path)
    return npz_path, eaf_path


def load_prediction(npz_path: str | Path) -> VideoPrediction:
    """Read back a ``.npz`` written by ``save_prediction``."""
    with np.load(Path(npz_path)) as data:
        num, den = (int(v) for v in data["fps_fraction"])
        return VideoPrediction(
            loc_scores=data["loc_scores"], state_scores=data["state_scores"],
            face_found=data["face_found"], attention=data["attention"],
            segments=data["segments"].reshape(-1, 2), fps=Fraction(num, den),
            threshold=float(data["threshold"]), min_length=int(data["min_length"]),
            merge_gap=int(data["merge_gap"]),
            state_threshold=float(data["state_threshold"]) if "state_threshold" in data
            else 0.5)


__all__ = ["VideoPrediction", "predict_video", "save_prediction", "load_prediction",
           "predicted_annotations", "find_segments", "DEFAULT_POSTPROCESS"]
