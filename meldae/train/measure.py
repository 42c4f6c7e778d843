"""From per-frame scores to the paper's metrics, and post-processing chosen on validation.

Used by validation (every epoch), ``meldae evaluate`` and the baselines, so that the model
and the baselines are measured by the same code. Metrics come from ``meldae.metrics``.

UF1 (paper eq. 5) needs expression types (``micro``/``macro`` labels, as written by the
dataset converters). The spotter does not classify, so a matched prediction counts for the
class of its ground truth, and an unmatched one for the class its duration suggests
(MEGC: micro up to 0.5 s, macro beyond; the only class when the data has one).

Acc_ME is counted per clip, as the paper defines it (a clip-level accuracy): the model runs
on overlapping windows, and a clip's ME probability is the maximum over its windows (a clip
holds an ME when any part of it does); the clip is positive when its ground truth has at
least one ME. Threshold 0.5.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from meldae.postprocess import PostProcessing
from meldae.scores import ClipScores
from meldae.train.validate import EvalClip

#: Post-processing candidates tried on the validation split.
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.951, 0.05))
MIN_LENGTHS = (1, 3, 5)
MERGE_GAPS = (0, 2, 4)
MICRO_MAX_S = 0.5


def predicted_segments(post: PostProcessing, scores: ClipScores,
                       clip: EvalClip) -> list[tuple[int, int]]:
    """Predicted segments of one clip (no segment crosses a frame without a face)."""
    return post.segments(scores.loc, np.asarray(clip.face_found, bool))


def clip_me_probability(scores: ClipScores) -> float | None:
    """A clip's ME probability: the maximum over its windows (None: no window ran)."""
    if scores.window_me is None or len(scores.window_me) == 0:
        return None
    return float(np.max(scores.window_me))


def _acc_me(clips: list[EvalClip], scores: list[ClipScores]) -> float | None:
    """Acc_ME over clips (clip probability = max over windows; see the module docstring)."""
    from meldae.metrics import accuracy_me

    pairs = [(clip_me_probability(s), bool(c.me_segments)) for c, s in zip(clips, scores)]
    pairs = [(p, y) for p, y in pairs if p is not None]
    if not pairs:
        return None
    return accuracy_me([p for p, _ in pairs], [float(y) for _, y in pairs])


def expression_types(clip: EvalClip) -> list[str]:
    """``micro``/``macro``/``""`` of each ground-truth segment, from its label."""
    from meldae.data.convert import expression_type_of

    labels = clip.me_labels or [""] * len(clip.me_segments)
    return [expression_type_of(label) for label in labels]


def _uf1_counts(clips: list[EvalClip], preds: list[list[tuple[int, int]]],
                iou_threshold: float, protocol: str = "meldae") -> dict[str, tuple[int, int, int]] | None:
    from meldae.metrics import match_segment_pairs

    if protocol == "megc":
        return _uf1_counts_megc(clips, preds, iou_threshold)

    types_per_clip, classes = _expression_classes(clips)
    if not classes:
        return None
    counts = {k: [0, 0, 0] for k in classes}
    for clip, pred, types in zip(clips, preds, types_per_clip):
        pairs = match_segment_pairs(pred, clip.me_segments, iou_threshold)
        matched_p = {i for i, _, _ in pairs}
        matched_g = {j for _, j, _ in pairs}
        for j, kind in enumerate(types):
            if kind:
                counts[kind][0 if j in matched_g else 2] += 1
        micro_max = _micro_frames(clip)
        for i, (onset, offset) in enumerate(pred):
            if i in matched_p:
                continue
            guess = "micro" if offset - onset + 1 <= micro_max else "macro"
            counts[guess if guess in counts else classes[0]][1] += 1
    return {k: (c[0], c[1], c[2]) for k, c in counts.items()}


def _expression_classes(clips: list[EvalClip]) -> tuple[list, list[str]]:
    """Each clip's per-ground-truth expression types, and the sorted classes that occur."""
    types_per_clip = [expression_types(c) for c in clips]
    return types_per_clip, sorted({t for types in types_per_clip for t in types if t})


def _uf1_counts_megc(clips: list[EvalClip], preds: list[list[tuple[int, int]]],
                     iou_threshold: float) -> dict[str, tuple[int, int, int]] | None:
    """Per-class MEGC counts: a prediction belongs to the class of the ground truth it
    overlaps most (IoU >= threshold), else to the class its duration suggests."""
    from meldae.megc import megc_counts
    from meldae.metrics import interval_iou

    types_per_clip, classes = _expression_classes(clips)
    if not classes:
        return None
    counts = {k: [0, 0, 0] for k in classes}
    for clip, pred, types in zip(clips, preds, types_per_clip):
        micro_max = _micro_frames(clip)
        pred_class = []
        for p in pred:
            ious = [(interval_iou(p, g), t) for g, t in zip(clip.me_segments, types) if t]
            best = max(ious, default=(0.0, ""))
            guess = "micro" if p[1] - p[0] + 1 <= micro_max else "macro"
            pred_class.append(best[1] if best[0] >= iou_threshold and best[0] > 0 else
                              guess if guess in counts else classes[0])
        for kind in classes:
            gts = [g for g, t in zip(clip.me_segments, types) if t == kind]
            found = megc_counts([p for p, k in zip(pred, pred_class) if k == kind], gts,
                                iou_threshold)
            counts[kind] = [a + b for a, b in zip(counts[kind], found)]
    return {k: (c[0], c[1], c[2]) for k, c in counts.items()}


def _micro_frames(clip: EvalClip) -> int:
    fps = getattr(clip, "fps", None)
    return int(MICRO_MAX_S * float(fps if fps else Fraction(30)))


def measure(clips: list[EvalClip], scores: list[ClipScores], post: PostProcessing,
            iou_threshold: float = 0.5, spotting_only: bool = False,
            protocol: str = "meldae") -> dict[str, Any]:
    """All metrics over the clips (counts summed over clips first).

    ``protocol``: ``meldae`` (one-to-one matching) or ``megc`` (``meldae.megc``).

    Returns:
        ``f1, precision, recall, f1_speaking, f1_listening, f1_dr``, the counts, ``acc_me``
        and ``acc_state`` when the scorer has those heads, ``uf1`` when the ground truth has
        expression types.
    """
    from meldae.metrics import accuracy_state, evaluate_spotting, uf1

    from meldae.megc import PROTOCOLS, evaluate_spotting_megc

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose {' or '.join(PROTOCOLS)}")
    preds = [predicted_segments(post, s, c) for c, s in zip(clips, scores)]
    spot = evaluate_spotting_megc if protocol == "megc" else evaluate_spotting
    report: dict[str, Any] = dict(spot(
        ((p, c.me_segments, c.speaking) for p, c in zip(preds, clips)), iou_threshold))
    if spotting_only:
        return report
    if scores and all(s.window_me is not None and s.windows is not None for s in scores):
        acc_me = _acc_me(clips, scores)
        if acc_me is not None:
            report["acc_me"] = acc_me
    if scores and all(s.state is not None for s in scores):
        report["acc_state"] = accuracy_state([s.state for s in scores],
                                             [c.speaking for c in clips])
        report["auc_state"] = _face_frame_auc(scores, [s.state for s in scores],
                                              [c.speaking for c in clips])
    report["auc_loc"] = _face_frame_auc(scores, [s.loc for s in scores],
                                        [_me_mask(c) for c in clips])
    per_class = _uf1_counts(clips, preds, iou_threshold, protocol)
    if per_class is not None:
        report["uf1"] = uf1(per_class)
        report["uf1_classes"] = sorted(per_class)
    return report


def _face_frame_auc(scores: list[ClipScores], values: list[np.ndarray],
                    labels: list[np.ndarray]) -> float | None:
    """Frame-level ROC AUC over the scored frames that have a face (None: one class only)."""
    from meldae.metrics import frame_auc

    keep = [np.isfinite(v) & np.asarray(s.face_found, bool)[:len(v)] for s, v in zip(scores, values)]
    return frame_auc([np.asarray(v)[k] for v, k in zip(values, keep)],
                     [np.asarray(y)[:len(k)][k] for y, k in zip(labels, keep)])


def _me_mask(clip: EvalClip) -> np.ndarray:
    """(N,) bool: the frames inside a ground-truth ME."""
    mask = np.zeros(clip.n_frames, bool)
    for onset, offset in clip.me_segments:
        mask[onset:offset + 1] = True
    return mask


def per_clip(clips: list[EvalClip], scores: list[ClipScores], post: PostProcessing,
             iou_threshold: float = 0.5, protocol: str = "meldae") -> list[dict[str, Any]]:
    """The metrics of every clip on its own, with its predicted segments."""
    rows = []
    for clip, score in zip(clips, scores):
        row = {"clip": clip.name, "n_frames": clip.n_frames, "n_gt": len(clip.me_segments),
               "fps": float(clip.fps) if clip.fps else None,
               **measure([clip], [score], post, iou_threshold, protocol=protocol)}
        row["predicted"] = [list(seg) for seg in predicted_segments(post, score, clip)]
        rows.append(row)
    return rows


def tune_postprocessing(clips: list[EvalClip], scores: list[ClipScores],
                        iou_threshold: float = 0.5) -> tuple[PostProcessing, dict[str, Any]]:
    """The post-processing with the best F1_DR (ties: F1, then closest to the defaults).

    Meant for the validation split only (DESIGN §6: never tune on the test split).
    """
    best_key, best = None, PostProcessing()
    for threshold, min_length, merge_gap in itertools.product(THRESHOLDS, MIN_LENGTHS,
                                                              MERGE_GAPS):
        post = PostProcessing(float(threshold), min_length, merge_gap)
        m = measure(clips, scores, post, iou_threshold, spotting_only=True)
        key = (m["f1_dr"], m["f1"], -abs(threshold - 0.5), -min_length, -merge_gap)
        if best_key is None or key > best_key:
            best_key, best = key, post
    return best, measure(clips, scores, best, iou_threshold)


def tune_state_threshold(clips: list[EvalClip], scores: list[ClipScores]) -> float | None:
    """The speaking-state threshold with the best frame accuracy on these clips.

    The paper's focal loss (alpha 0.25) weights the speaking class down, so a trained
    state head can be right about the order of its scores while staying under one half;
    the threshold chosen on validation is what inference and the app use to draw the
    predicted speaking intervals. Only frames with a face count; ties go to the threshold
    nearest 0.5. A head that does not separate the classes (its best accuracy is no better
    than always answering the majority class, plus one point) keeps 0.5: a threshold under
    a constant output would only paint the whole clip "speaking". ``Acc_State`` itself
    stays at 0.5 (DESIGN section 4).

    Returns:
        The threshold, or None when the scorer has no state head.
    """
    if not scores or any(s.state is None for s in scores):
        return None
    probs = np.concatenate([np.asarray(s.state, float)[np.asarray(c.face_found, bool)]
                            for c, s in zip(clips, scores)])  # (F,)
    truth = np.concatenate([np.asarray(c.speaking, bool)[np.asarray(c.face_found, bool)]
                            for c in clips])  # (F,)
    if probs.size == 0:
        return None
    best_key, best = None, 0.5
    for threshold in THRESHOLDS:
        key = (float(np.mean((probs >= threshold) == truth)), -abs(threshold - 0.5))
        if best_key is None or key > best_key:
            best_key, best = key, float(threshold)
    majority = max(float(truth.mean()), 1.0 - float(truth.mean()))
    return best if best_key[0] > majority + 0.01 else 0.5


def fixed_postprocessing(cfg) -> PostProcessing:
    """The post-processing a ``TrainConfig`` fixes (used until validation chooses one)."""
    return PostProcessing(cfg.threshold, cfg.min_length, cfg.merge_gap)


def select_postprocessing(clips: list[EvalClip], scores: list[ClipScores],
                          cfg) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validation metrics and the post-processing that goes into the checkpoint.

    Args:
        clips: the validation clips.
        scores: the model's scores of those clips (same order).
        cfg: the ``TrainConfig`` (tune or not, fixed values, IoU threshold).

    Returns:
        (the checkpoint's ``meta["postprocessing"]``: ``PostProcessing.to_meta`` with its
        ``source``; metrics dict including the ME values).
    """
    if cfg.tune_postprocessing:
        post, metrics = tune_postprocessing(clips, scores, cfg.iou_threshold)
        source = f"chosen on the validation split ({len(clips)} clips) by best F1_DR"
        state_threshold = tune_state_threshold(clips, scores)
        if state_threshold is not None:
            post = replace(post, state_threshold=state_threshold)
    else:
        post = fixed_postprocessing(cfg)
        metrics = measure(clips, scores, post, cfg.iou_threshold)
        source = "fixed in the train config"
    metrics = {**metrics, "threshold": post.threshold, "min_length": post.min_length,
               "merge_gap": post.merge_gap}
    return post.to_meta(source), metrics
