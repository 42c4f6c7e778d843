"""Baseline spotting (LBP-TOP, LBP-SIP, frame difference) on a clip folder, measured by the
same code as the model.

The baseline has nothing to train; what it has to choose — the comparison interval ``k``,
the score threshold, ``min_length`` and ``merge_gap`` — is chosen on the validation split
(best F1_DR, as for the model), then applied unchanged to the evaluated split.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from meldae.baselines.framediff import frame_diff_scores, grey_volume
from meldae.baselines.lbp import METHODS as LBP_METHODS
from meldae.baselines.lbp import LBPSettings, frame_features, mdmd_scores

log = logging.getLogger(__name__)

#: Comparison intervals tried on validation (frames; MEs last 0.2-0.5 s).
INTERVALS = (2, 3, 5, 8)
#: Every baseline: the two LBP ones of the paper's Table 2 and the plain frame difference.
METHODS = (*LBP_METHODS, "frame-diff")


def feature_cache(clips, method: str, settings: LBPSettings) -> dict[str, Any]:
    """Per-frame features of every clip, by clip name (computed once, reused per k): LBP
    histograms, or for ``frame-diff`` the grey frames themselves."""
    if method == "frame-diff":
        return {clip.name: ("frame-diff", grey_volume(clip.crops, settings.size)) for clip in clips}
    return {clip.name: (method, frame_features(clip.crops, method, settings)) for clip in clips}


def scores_for(clips, features: dict[str, Any], interval: int):
    """The baseline's ``ClipScores`` of every clip for comparison interval ``interval``."""
    from meldae.scores import ClipScores

    out = []
    for clip in clips:
        method, values = features[clip.name]
        if method == "frame-diff":
            loc, state = frame_diff_scores(values, interval, clip.face_found)
        else:
            loc, state = mdmd_scores(values, interval, clip.face_found), None
        out.append(ClipScores.from_arrays(loc, state, face_found=clip.face_found,
                                          fps=clip.fps or 0, name=clip.name))
    return out


def tune_on_validation(val_clips, method: str, settings: LBPSettings,
                       intervals: tuple[int, ...] = INTERVALS, iou_threshold: float = 0.5):
    """Choose ``k`` and the post-processing on the validation clips.

    Returns:
        (interval, PostProcessing, validation metrics)
    """
    from meldae.train.measure import tune_postprocessing

    features = feature_cache(val_clips, method, settings)
    best = None
    for k in intervals:
        post, metrics = tune_postprocessing(val_clips, scores_for(val_clips, features, k),
                                            iou_threshold)
        key = (metrics["f1_dr"], metrics["f1"], -abs(k - settings.interval))
        if best is None or key > best[0]:
            best = (key, k, post, metrics)
    _, k, post, metrics = best
    return k, post, metrics


def run_baseline(method: str, data_dir: Path, split: str = "test", crop_size: int = 96,
                 interval: int | None = None, val_fraction: float = 0.2,
                 test_fraction: float = 0.0, seed: int = 0,
                 cache_dir: Path | None = None, tune_dir: Path | None = None) -> dict[str, Any]:
    """Run a baseline on a clip folder: tune on ``val``, report on ``split``.

    Args:
        method: ``lbp-top``, ``lbp-sip`` or ``frame-diff``.
        data_dir: the clip folder (subject split as the trainer makes it: splits.csv, else
            ``val_fraction`` / ``test_fraction`` / ``seed``).
        split: the split to report (``test`` by default; ``all`` for every clip).
        crop_size: face-crop size the features are computed on.
        interval: fixed ``k``; None chooses it on validation among ``INTERVALS``.
        val_fraction, test_fraction, seed: the subject split when splits.csv has none.
        cache_dir: the crop cache.
        tune_dir: choose the threshold and ``k`` on the validation split of this folder
            instead of ``data_dir``'s (a held-out folder scored with ``split="all"``, as a
            model trained on ``tune_dir`` is).

    Returns:
        A report shaped like ``meldae.evaluate``'s (``overall``, ``clips``,
        ``postprocessing``), plus ``method`` and ``interval``.

    Raises:
        ValueError: unknown method; meldae.evaluate.EvaluationError: empty split.
    """
    from meldae.evaluate import EvaluationError, build_report, clips_of_split
    from meldae.train.config import TrainConfig
    from meldae.train.run import load_eval_clip, split_folder

    if method not in METHODS:
        raise ValueError(f"unknown baseline {method!r}; choose {' or '.join(METHODS)}")
    settings = LBPSettings(size=crop_size)
    cfg = TrainConfig(val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    splits = split_folder(Path(data_dir), cfg)
    tune_splits = splits if tune_dir is None else split_folder(Path(tune_dir), cfg)
    val_infos = [c for c in tune_splits.val if c.eaf_path is not None]
    if not val_infos:
        raise EvaluationError(f"{tune_dir or data_dir}: no annotated validation clips to "
                              "choose the baseline's threshold on")
    val_clips = [load_eval_clip(c, crop_size, cache_dir) for c in val_infos]
    k, post, val_metrics = tune_on_validation(
        val_clips, method, settings, (interval,) if interval else INTERVALS)
    infos = clips_of_split(Path(data_dir), "all") if split == "all" else \
        [c for c in getattr(splits, split) if c.eaf_path is not None]
    if not infos:
        raise EvaluationError(f"{data_dir}: no annotated clips in split {split!r}")
    clips = [load_eval_clip(c, crop_size, cache_dir) for c in infos]
    scores = scores_for(clips, feature_cache(clips, method, settings), k)
    source = (f"chosen on the validation split ({len(val_clips)} clips"
              f"{'' if tune_dir is None else f' of {tune_dir}'}) by best F1_DR, with k = {k}")
    return build_report(clips, scores, post, source, split,
                        extra={"method": method, "data": str(data_dir), "interval": k,
                               "crop_size": crop_size, "val": val_metrics})
