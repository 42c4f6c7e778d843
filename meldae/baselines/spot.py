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
from meldae.postprocess import PostProcessing

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
                 cache_dir: Path | None = None, tune_dir: Path | None = None,
                 protocol: str = "meldae", splits=None) -> dict[str, Any]:
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
        protocol: how the reported hits are counted (``meldae`` or ``megc``); tuning always
            uses ``meldae``, as the model's validation does.
        splits: a ``meldae.data.SplitSet`` to use instead of the folder's split (``meldae
            experiment table2``: the very clips the models were validated and tested on).

    Returns:
        A report shaped like ``meldae.evaluate``'s (``overall``, ``clips``,
        ``postprocessing``), plus ``method`` and ``interval``.

    Raises:
        ValueError: unknown method; meldae.evaluate.EvaluationError: empty split (the
        message names the folder and what to do).
    """
    from meldae.eval_splits import ClipSelection, EvaluationError
    from meldae.evaluate import build_report, select_clips
    from meldae.train.run import load_eval_clip

    if method not in METHODS:
        raise ValueError(f"unknown baseline {method!r}; choose {' or '.join(METHODS)}")
    settings = LBPSettings(size=crop_size)
    tune_folder = Path(tune_dir or data_dir)
    if splits is not None:
        chosen = [c for c in getattr(splits, split) if c.eaf_path is not None]
        if not chosen:
            raise EvaluationError(f"{data_dir}: no annotated clips in split {split!r}")
        selection = ClipSelection(chosen, f"split {split!r} of the experiment")
        val_infos = [c for c in splits.val if c.eaf_path is not None]
    else:
        selection = select_clips(Path(data_dir), split, val_fraction=val_fraction,
                                 test_fraction=test_fraction)
        val_infos = validation_clips(tune_folder, val_fraction, test_fraction, seed,
                                     own_folder=tune_dir is None)
    val_clips = [load_eval_clip(c, crop_size, cache_dir) for c in val_infos]
    k, post, val_metrics, source = _choose_settings(val_clips, method, settings, interval,
                                                    tune_folder, tune_dir is not None)
    clips = [load_eval_clip(c, crop_size, cache_dir) for c in selection.clips]
    scores = scores_for(clips, feature_cache(clips, method, settings), k)
    return build_report(clips, scores, post, source, split,
                        extra={"method": method, "data": str(data_dir), "interval": k,
                               "crop_size": crop_size, "val": val_metrics,
                               "clips_chosen": selection.note}, protocol=protocol)


def _choose_settings(val_clips, method: str, settings: LBPSettings, interval: int | None,
                     tune_folder: Path, other_folder: bool):
    """(k, PostProcessing, validation metrics, where they came from): tuned on the
    validation clips, or fixed defaults (said so) when there are none."""
    if not val_clips:
        k = interval or settings.interval
        source = (f"fixed defaults with k = {k}: {tune_folder} has no validation clips to choose "
                  "them on (pass --tune-on DIR to choose them on DIR's validation split)")
        log.warning("%s", source)
        return k, PostProcessing(), {}, source
    k, post, metrics = tune_on_validation(val_clips, method, settings,
                                          (interval,) if interval else INTERVALS)
    source = (f"chosen on the validation split ({len(val_clips)} clips"
              f"{f' of {tune_folder}' if other_folder else ''}) by best F1_DR, with k = {k}")
    return k, post, metrics, source


def validation_clips(folder: Path, val_fraction: float, test_fraction: float, seed: int,
                     own_folder: bool) -> list:
    """The annotated validation clips of ``folder`` to tune a baseline on.

    The evaluated folder itself (``own_folder``) has validation clips only when its
    splits.csv fixes splits: without splits it is evaluated whole, and tuning on some of
    the evaluated clips would not be honest. Another folder (``--tune-on``) is split by
    subject as the trainer splits it.
    """
    from meldae.data import DataError, discover_clips, subject_split
    from meldae.evaluate import EvaluationError

    clips = discover_clips(folder)
    if own_folder and not any(c.split for c in clips):
        return []
    try:
        splits = subject_split(clips, val_fraction, test_fraction, seed)
    except DataError as exc:
        raise EvaluationError(f"{folder}: {exc}; fix splits.csv") from None
    return [c for c in splits.val if c.eaf_path is not None]
