"""Whole-video predictions: ``predict_video`` and writing them (``.npz``, ``.eaf``, ``.csv``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from meldae.atomic import atomic_savez
from meldae.infer.default_model import load_default_model, validation_stride
from meldae.infer.engine import iter_predict
from meldae.postprocess import PostProcessing, Proposals
from meldae.scores import ClipScores

if TYPE_CHECKING:  # pragma: no cover
    from meldae.annotations import ClipAnnotations
    from meldae.model import MELDAE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoPrediction:
    """A whole video's scores and the post-processing that turns them into proposals."""

    scores: ClipScores        # complete, no NaN
    post: PostProcessing

    @cached_property
    def proposals(self) -> Proposals:
        """``post.propose(scores)``: ME segments and speaking runs."""
        return self.post.propose(self.scores)

    @property
    def segments(self) -> np.ndarray:
        """``(K, 2)`` int64 inclusive onsets/offsets of the proposed ME segments."""
        return self.proposals.spans()

    @property
    def loc_scores(self) -> np.ndarray:
        """``(n,)`` float32 S_loc in [0, 1]; 0 where no face."""
        return self.scores.loc

    @property
    def state_scores(self) -> np.ndarray:
        """``(n,)`` float32 speaking probability; 0 where no face."""
        return self.scores.state

    @property
    def face_found(self) -> np.ndarray:
        """``(n,)`` bool."""
        return self.scores.face_found

    @property
    def attention(self) -> np.ndarray:
        """``(n, G, G)`` attention (float16 as collected; float32 once loaded back)."""
        return self.scores.attention

    @property
    def fps(self) -> Fraction:
        """The video's frame rate."""
        return self.scores.fps

    @property
    def n_frames(self) -> int:
        """Number of frames scored."""
        return self.scores.n_frames


def checkpoint_postprocessing(checkpoint_info: dict | None, threshold: float | None = None,
                              min_length: int | None = None,
                              merge_gap: int | None = None) -> PostProcessing:
    """The checkpoint's post-processing (``PostProcessing.from_meta``), flags overriding it."""
    post = PostProcessing.from_meta((checkpoint_info or {}).get("meta"))
    flags = {"threshold": threshold, "min_length": min_length, "merge_gap": merge_gap}
    return replace(post, **{k: type(getattr(post, k))(v) for k, v in flags.items()
                            if v is not None})


def predict_video(video_path: str | Path, model: MELDAE | None = None, device: str = "auto",
                  stride: int | None = None, face_settings: object | None = None,
                  cache_dir: Path | None = None, *, checkpoint_info: dict | None = None,
                  threshold: float | None = None, min_length: int | None = None,
                  merge_gap: int | None = None, batch_size: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> VideoPrediction:
    """Score a whole video and find its micro-expression segments.

    Memory: the per-frame results of the whole video (about ``n * (2*G*G + 9)`` bytes, 200
    bytes a frame for G = 10); the decoding and the model run in bounded memory.

    Args:
        video_path: the video file.
        model: a MELDAE model; None loads the bundled demo model (and its meta).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        stride: frames between window starts (default: the stride the checkpoint was
            validated with, else ``T // 2``).
        face_settings: ``meldae.faces.FaceSettings`` (default: crops at the model's size).
        cache_dir: the face-crop cache (default ``meldae.paths.cache_dir()``).
        checkpoint_info: the checkpoint's JSON dict; its meta gives the post-processing
            chosen on validation (``PostProcessing.from_meta``).
        threshold, min_length, merge_gap: override the meta's (or the default) values
            (the speaking-state threshold always comes from the meta, else 0.5).
        batch_size: windows per forward pass.
        progress: called with ``(frames_done, total_frames)`` after every result.

    Raises:
        meldae.video.VideoError: the video cannot be read.
    """
    if model is None:
        model, checkpoint_info = load_default_model(device)
    post = checkpoint_postprocessing(checkpoint_info, threshold, min_length, merge_gap)
    if stride is None:
        stride = validation_stride(checkpoint_info)
    results = iter_predict(video_path, model, device, stride, face_settings, cache_dir,
                           batch_size=batch_size)
    scores = ClipScores.collect(results, Path(video_path).stem, progress)
    scores.info = dict(checkpoint_info or {})
    return VideoPrediction(scores, post)


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
                    media_path: str | Path | None = None,
                    extra_tiers: Sequence[tuple[str, Sequence]] = ()) -> tuple[Path, Path]:
    """Write ``<name>.npz``, ``<name>.eaf`` and ``<name>.scores.csv`` into ``out_dir``.

    The npz holds ``loc_scores``, ``state_scores`` (float32), ``face_found`` (bool),
    ``segments`` (K x 2 int64, inclusive), ``fps`` (float64), ``fps_fraction`` (numerator,
    denominator), ``attention`` (n x G x G float32), ``threshold``, ``min_length``, ``merge_gap``
    and ``state_threshold``. The EAF holds the predicted ME and speaking tiers and links the score
    CSV; when ``<name>.eaf`` already exists, its manual annotations are kept. ``extra_tiers``
    (``(name, segments)``) are written too (``meldae infer --audio-vad``: ``Speaking (audio)``).

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
    post = {k: np.asarray(v) for k, v in pred.post.to_meta().items()}
    atomic_savez(npz_path, **pred.scores.score_arrays(), segments=pred.segments,
                 attention=np.asarray(pred.attention, np.float32), **post)
    save_scores_csv(csv_path, pred.loc_scores, pred.state_scores, pred.fps)
    doc = _manual_document(eaf_path, pred.fps)
    save_eaf(doc, eaf_path, pred.fps, media_path=Path(media_path) if media_path else None,
             predicted=pred.proposals.to_annotations(), scores_csv=csv_path,
             extra_tiers=extra_tiers)
    return npz_path, eaf_path


def load_prediction(npz_path: str | Path) -> VideoPrediction:
    """Read back a ``.npz`` written by ``save_prediction``.

    The proposals are derived again from the scores and the stored post-processing (the
    same ``propose`` made the stored ``segments``); files without ``state_threshold``
    (written before it existed) read it as 0.5.
    """
    with np.load(Path(npz_path)) as data:
        num, den = (int(v) for v in data["fps_fraction"])
        scores = ClipScores.from_arrays(data["loc_scores"], data["state_scores"],
                                        data["face_found"], Fraction(num, den),
                                        Path(npz_path).stem)
        scores.attention = data["attention"]
        post = PostProcessing.from_meta({f.name: data[f.name].item()
                                         for f in fields(PostProcessing) if f.name in data})
    return VideoPrediction(scores, post)


__all__ = ["VideoPrediction", "predict_video", "save_prediction", "load_prediction",
           "checkpoint_postprocessing"]
