"""Spotting and classification metrics (paper §5.2, DESIGN §4); numpy only, no torch.

Segments are inclusive frame ranges ``(onset, offset)`` with ``onset <= offset``; a
one-frame segment ``(k, k)`` is valid. IoU counts frames inclusively. A prediction matches a
ground truth when IoU >= the threshold (MEGC convention), one-to-one, greedily by descending
IoU. Counts are summed over clips before precision, recall and F1 are computed once; an
empty denominator gives 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

Interval = tuple[int, int]
Counts = tuple[int, int, int]  # (tp, fp, fn)
CONTEXTS = ("speaking", "listening")


def _check(seg: Sequence[int]) -> Interval:
    """``seg`` as an (onset, offset) pair of ints; ValueError when onset > offset."""
    onset, offset = int(seg[0]), int(seg[1])
    if onset > offset:
        raise ValueError(f"segment {tuple(seg)}: onset after offset")
    return onset, offset


def interval_iou(a: Sequence[int], b: Sequence[int]) -> float:
    """IoU of two inclusive frame ranges, counting frames: |a ∩ b| / |a ∪ b|."""
    a0, a1 = _check(a)
    b0, b1 = _check(b)
    inter = max(0, min(a1, b1) - max(a0, b0) + 1)
    union = (a1 - a0 + 1) + (b1 - b0 + 1) - inter
    return inter / union


def match_segment_pairs(
    preds: Sequence[Sequence[int]], gts: Sequence[Sequence[int]], iou_threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """One-to-one greedy matching by descending IoU; pairs with IoU >= threshold.

    Disjoint segments never match, even with a threshold of 0.

    Returns:
        ``(pred_index, gt_index, iou)`` for every match, in matching order (ties in IoU are
        taken in (pred_index, gt_index) order).
    """
    candidates = []
    for i, p in enumerate(preds):
        for j, g in enumerate(gts):
            iou = interval_iou(p, g)
            if iou >= iou_threshold and iou > 0.0:
                candidates.append((-iou, i, j))
    candidates.sort()
    used_p: set[int] = set()
    used_g: set[int] = set()
    pairs = []
    for neg_iou, i, j in candidates:
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            pairs.append((i, j, -neg_iou))
    return pairs


def match_segments(
    preds: Sequence[Sequence[int]], gts: Sequence[Sequence[int]], iou_threshold: float = 0.5
) -> Counts:
    """(tp, fp, fn) of one clip: TP = matches, FP = predictions - TP, FN = ground truths - TP."""
    tp = len(match_segment_pairs(preds, gts, iou_threshold))
    return tp, len(preds) - tp, len(gts) - tp


def prf_from_counts(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """(precision, recall, f1) from counts; an empty denominator gives 0."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1


def spotting_prf(
    clips: Iterable[tuple[Sequence[Sequence[int]], Sequence[Sequence[int]]]], iou_threshold: float = 0.5
) -> tuple[float, float, float]:
    """(precision, recall, f1) over clips given as ``(preds, gts)`` pairs; counts summed first."""
    total = np.zeros(3, dtype=np.int64)
    for preds, gts in clips:
        total += match_segments(preds, gts, iou_threshold)
    return prf_from_counts(*(int(c) for c in total))


def segment_context(segment: Sequence[int], speaking: np.ndarray) -> str:
    """"speaking" when speaking frames cover at least half of the segment, else "listening"."""
    onset, offset = _check(segment)
    if offset >= len(speaking) or onset < 0:
        raise ValueError(f"segment {(onset, offset)} outside the {len(speaking)} frames of the speaking mask")
    n_speaking = int(np.count_nonzero(speaking[onset : offset + 1]))
    return "speaking" if 2 * n_speaking >= offset - onset + 1 else "listening"


def context_counts(
    preds: Sequence[Sequence[int]],
    gts: Sequence[Sequence[int]],
    speaking: np.ndarray | Sequence[bool],
    iou_threshold: float = 0.5,
) -> dict[str, Counts]:
    """(tp, fp, fn) per conversational context for one clip.

    TP and FN count in the context of the ground-truth segment, FP in that of the
    prediction. ``speaking`` is the clip's per-frame ground-truth speaking mask.
    """
    mask = np.asarray(speaking).astype(bool)
    counts = {ctx: [0, 0, 0] for ctx in CONTEXTS}
    pairs = match_segment_pairs(preds, gts, iou_threshold)
    matched_p = {i for i, _, _ in pairs}
    matched_g = {j for _, j, _ in pairs}
    for j, gt in enumerate(gts):
        counts[segment_context(gt, mask)][0 if j in matched_g else 2] += 1
    for i, pred in enumerate(preds):
        if i not in matched_p:
            counts[segment_context(pred, mask)][1] += 1
    return {ctx: (c[0], c[1], c[2]) for ctx, c in counts.items()}


def f1_dr(f1_speaking: float, f1_listening: float) -> float:
    """F1 for dialogue roles: harmonic mean of the two context F1s (paper eq. 4); 0 if both 0."""
    total = f1_speaking + f1_listening
    return 2.0 * f1_speaking * f1_listening / total if total > 0 else 0.0


def uf1(per_class_counts: Mapping[Any, Counts] | Iterable[Counts]) -> float:
    """Unweighted mean of per-class spotting F1 (paper eq. 5); 0 without classes."""
    values = per_class_counts.values() if isinstance(per_class_counts, Mapping) else per_class_counts
    f1s = [prf_from_counts(*counts)[2] for counts in values]
    return float(np.mean(f1s)) if f1s else 0.0


def _flat(values: Any) -> np.ndarray:
    """A flat float array from an array, a list of numbers, or a list of arrays of any lengths."""
    try:
        return np.asarray(values, dtype=np.float64).ravel()
    except ValueError:  # ragged: per-clip arrays of different lengths
        parts = [np.asarray(v, dtype=np.float64).ravel() for v in values]
        return np.concatenate(parts) if parts else np.zeros(0)


def _accuracy(probs: Any, labels: Any, threshold: float) -> float:
    p, y = _flat(probs), _flat(labels)
    if p.shape != y.shape:
        raise ValueError(f"{p.size} predictions but {y.size} labels")
    if p.size == 0:
        return 0.0
    return float(np.mean((p >= threshold) == (y >= 0.5)))


def accuracy_me(probs: Any, labels: Any, threshold: float = 0.5) -> float:
    """Acc_ME: clip-level accuracy of the ME head (probability >= threshold is positive)."""
    return _accuracy(probs, labels, threshold)


def accuracy_state(probs: Any, labels: Any, threshold: float = 0.5) -> float:
    """Acc_State: frame-level accuracy of the state head over all frames of all clips."""
    return _accuracy(probs, labels, threshold)


def _runs(mask: np.ndarray) -> list[Interval]:
    """Inclusive (onset, offset) of every run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e) - 1) for s, e in zip(edges[0::2], edges[1::2])]


def segments_from_scores(
    scores: Any,
    threshold: float = 0.5,
    min_length: int = 1,
    merge_gap: int = 0,
    valid: np.ndarray | None = None,
) -> list[Interval]:
    """Segments from per-frame scores: threshold, merge short gaps, drop short segments.

    Args:
        scores: (T,) per-frame scores; frames with ``score >= threshold`` are positive.
        threshold: the score threshold.
        min_length: segments shorter than this many frames (after merging) are dropped.
        merge_gap: two segments separated by at most this many frames are merged, unless an
            invalid frame lies between them.
        valid: optional (T,) bool mask; frames with False (e.g. no face) are never part of
            a segment.

    Returns:
        Inclusive ``(onset, offset)`` pairs in frame order.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    ok = np.ones(s.shape, dtype=bool) if valid is None else np.asarray(valid, dtype=bool).ravel()
    if ok.shape != s.shape:
        raise ValueError(f"valid mask has {ok.size} frames, scores {s.size}")
    merged: list[Interval] = []
    for onset, offset in _runs((s >= threshold) & ok):
        if merged:
            prev_on, prev_off = merged[-1]
            gap = onset - prev_off - 1
            if gap <= merge_gap and ok[prev_off + 1 : onset].all():
                merged[-1] = (prev_on, offset)
                continue
        merged.append((onset, offset))
    return [(on, off) for on, off in merged if off - on + 1 >= min_length]


def evaluate_spotting(
    clips: Iterable[tuple[Sequence[Sequence[int]], Sequence[Sequence[int]], Any]], iou_threshold: float = 0.5
) -> dict[str, float | int]:
    """All spotting figures over clips given as ``(preds, gts, speaking_mask)``.

    Returns:
        ``f1``, ``precision``, ``recall``, ``tp``, ``fp``, ``fn`` (all contexts),
        ``f1_speaking``, ``f1_listening``, ``f1_dr`` and per-context ``tp_speaking``, ...
    """
    totals = {ctx: np.zeros(3, dtype=np.int64) for ctx in CONTEXTS}
    for preds, gts, speaking in clips:
        for ctx, counts in context_counts(preds, gts, speaking, iou_threshold).items():
            totals[ctx] += counts
    all_counts = [int(c) for c in totals["speaking"] + totals["listening"]]
    precision, recall, f1 = prf_from_counts(*all_counts)
    report: dict[str, float | int] = {
        "f1": f1, "precision": precision, "recall": recall,
        "tp": all_counts[0], "fp": all_counts[1], "fn": all_counts[2],
    }
    for ctx in CONTEXTS:
        tp, fp, fn = (int(c) for c in totals[ctx])
        report[f"f1_{ctx}"] = prf_from_counts(tp, fp, fn)[2]
        report.update({f"tp_{ctx}": tp, f"fp_{ctx}": fp, f"fn_{ctx}": fn})
    report["f1_dr"] = f1_dr(float(report["f1_speaking"]), float(report["f1_listening"]))
    return report


def frame_auc(scores: Any, labels: Any) -> float | None:
    """Area under the ROC curve of per-frame scores against 0/1 labels (ties count half).

    The probability that a random positive frame scores above a random negative one: 0.5 is
    chance whatever the threshold. None when the labels hold only one class.
    """
    s, y = _flat(scores).astype(np.float64), _flat(labels) > 0.5
    if len(s) != len(y):
        raise ValueError(f"{len(s)} scores for {len(y)} labels")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average ranks over ties (1-based)
    starts = np.flatnonzero(np.concatenate([[True], sorted_s[1:] != sorted_s[:-1]]))
    ends = np.concatenate([starts[1:], [len(s)]])
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = 0.5 * (a + 1 + b)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
