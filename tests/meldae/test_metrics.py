"""Spotting and classification metrics against hand-computed values (DESIGN §4)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from meldae.metrics import (
    accuracy_me,
    accuracy_state,
    context_counts,
    evaluate_spotting,
    f1_dr,
    interval_iou,
    match_segment_pairs,
    match_segments,
    prf_from_counts,
    segment_context,
    segments_from_scores,
    spotting_prf,
    uf1,
)


def test_interval_iou_counts_frames_inclusively():
    assert interval_iou((0, 3), (2, 5)) == pytest.approx(2 / 6)  # frames 2,3 of 0..5
    assert interval_iou((5, 5), (5, 5)) == 1.0  # one-frame segments
    assert interval_iou((5, 5), (5, 6)) == 0.5
    assert interval_iou((0, 2), (3, 5)) == 0.0  # adjacent, no shared frame
    assert interval_iou((10, 20), (0, 4)) == 0.0
    with pytest.raises(ValueError, match="onset after offset"):
        interval_iou((4, 3), (0, 5))


def test_iou_exactly_half_matches_at_threshold_half():
    assert match_segments([(0, 3)], [(0, 1)]) == (1, 0, 0)  # inter 2, union 4
    assert match_segments([(5, 5)], [(5, 6)]) == (1, 0, 0)  # one frame of two
    assert match_segments([(0, 4)], [(0, 1)]) == (0, 1, 1)  # 2/5 < 0.5
    assert match_segments([(0, 3)], [(0, 1)], iou_threshold=0.6) == (0, 1, 1)


def test_one_prediction_spanning_two_ground_truths():
    # (0, 9) vs (0, 3) and (6, 9): IoU 4/10 each -> no match at all
    assert match_segments([(0, 9)], [(0, 3), (6, 9)]) == (0, 1, 2)
    # (0, 6) vs (0, 4) IoU 5/7 and (5, 6) IoU 2/7: only the first can match, once
    assert match_segments([(0, 6)], [(0, 4), (5, 6)]) == (1, 0, 1)


def test_matching_is_greedy_by_descending_iou_and_one_to_one():
    # the prediction overlaps gt 0 with 6/10 and gt 1 with 9/10: it takes gt 1
    assert match_segment_pairs([(0, 9)], [(0, 5), (0, 8)]) == [(0, 1, pytest.approx(0.9))]
    # pred 1 fits gt 0 exactly, so pred 0 (IoU 5/7 with gt 0) stays unmatched
    pairs = match_segment_pairs([(0, 5), (1, 6)], [(1, 6)])
    assert [(i, j) for i, j, _ in pairs] == [(1, 0)]
    assert match_segments([(0, 5), (1, 6)], [(1, 6)]) == (1, 1, 0)


def test_empty_inputs():
    assert match_segments([], []) == (0, 0, 0)
    assert match_segments([], [(1, 2), (4, 4)]) == (0, 0, 2)
    assert match_segments([(1, 2)], []) == (0, 1, 0)
    assert spotting_prf([]) == (0.0, 0.0, 0.0)
    assert spotting_prf([([], [])]) == (0.0, 0.0, 0.0)
    assert prf_from_counts(0, 0, 0) == (0.0, 0.0, 0.0)
    assert prf_from_counts(0, 3, 0) == (0.0, 0.0, 0.0)


def test_spotting_prf_sums_counts_over_clips():
    clips = [
        ([(0, 3), (10, 12)], [(0, 3)]),  # tp 1, fp 1, fn 0
        ([(5, 5)], [(5, 5), (8, 9), (20, 30)]),  # tp 1, fp 0, fn 2
    ]
    precision, recall, f1 = spotting_prf(clips)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 4)
    assert f1 == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))


def test_segment_context_majority_and_ties():
    speaking = np.array([1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    assert segment_context((0, 3), speaking) == "speaking"  # 2 of 4: tie -> speaking
    assert segment_context((1, 3), speaking) == "listening"  # 1 of 3
    assert segment_context((5, 5), speaking) == "speaking"
    assert segment_context((6, 7), speaking) == "listening"
    with pytest.raises(ValueError, match="outside"):
        segment_context((6, 8), speaking)


def test_context_counts_tp_fn_in_gt_context_fp_in_prediction_context():
    speaking = np.array([1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    gts = [(0, 3), (6, 7)]  # gt 0: 2 of 4 speaking (tie -> speaking); gt 1: listening
    # pred 0 matches gt 0 (IoU 3/5) but is itself listening (1 of 4): the TP is "speaking".
    # pred 1 is unmatched and speaking (frames 9..11): FP in "speaking". gt 1 unmatched: FN listening.
    preds = [(1, 4), (9, 11)]
    counts = context_counts(preds, gts, speaking)
    assert counts == {"speaking": (1, 1, 0), "listening": (0, 0, 1)}
    # an unmatched prediction in listening frames is an FP there
    assert context_counts([(4, 5)], [], speaking) == {"speaking": (0, 0, 0), "listening": (0, 1, 0)}
    assert context_counts([], [], speaking) == {"speaking": (0, 0, 0), "listening": (0, 0, 0)}


def test_f1_dr_harmonic_mean():
    assert f1_dr(0.5, 1.0) == pytest.approx(2 * 0.5 / 1.5)
    assert f1_dr(0.0, 0.0) == 0.0
    assert f1_dr(0.0, 0.8) == 0.0
    assert f1_dr(0.6, 0.6) == pytest.approx(0.6)


def test_uf1_unweighted_mean_of_class_f1():
    # micro: tp 1, fp 1, fn 0 -> F1 2/3; macro: nothing -> 0
    assert uf1({"micro": (1, 1, 0), "macro": (0, 0, 0)}) == pytest.approx(1 / 3)
    assert uf1([(2, 0, 0), (1, 0, 1)]) == pytest.approx((1.0 + 2 / 3) / 2)
    assert uf1({}) == 0.0


def test_accuracies():
    assert accuracy_me([0.2, 0.5, 0.9], [0, 1, 0]) == pytest.approx(2 / 3)  # 0.5 counts as positive
    assert accuracy_me([0.2, 0.5, 0.9], [0, 1, 0], threshold=0.6) == pytest.approx(1 / 3)  # 0.5 now negative
    assert accuracy_me([0.7], [1]) == 1.0
    # framewise over clips of different lengths: 3 of 5 frames right
    probs = [np.array([0.9, 0.1, 0.8]), np.array([0.4, 0.6])]
    labels = [np.array([1, 0, 0]), np.array([1, 1])]
    assert accuracy_state(probs, labels) == pytest.approx(3 / 5)
    assert accuracy_state([], []) == 0.0
    with pytest.raises(ValueError):
        accuracy_me([0.1, 0.2], [1])


def test_segments_from_scores_threshold_merge_min_length_valid():
    scores = [0.1, 0.6, 0.7, 0.2, 0.8, 0.1, 0.1, 0.9]
    assert segments_from_scores(scores) == [(1, 2), (4, 4), (7, 7)]
    assert segments_from_scores(scores, merge_gap=1) == [(1, 4), (7, 7)]
    assert segments_from_scores(scores, merge_gap=2) == [(1, 7)]
    assert segments_from_scores(scores, min_length=2) == [(1, 2)]
    assert segments_from_scores(scores, merge_gap=1, min_length=3) == [(1, 4)]
    assert segments_from_scores(scores, threshold=0.8) == [(4, 4), (7, 7)]  # >= threshold
    valid = np.ones(8, dtype=bool)
    valid[3] = False  # no face at frame 3: never bridged
    assert segments_from_scores(scores, merge_gap=1, valid=valid) == [(1, 2), (4, 4), (7, 7)]
    valid[2] = False
    assert segments_from_scores(scores, valid=valid) == [(1, 1), (4, 4), (7, 7)]
    assert segments_from_scores([]) == []
    assert segments_from_scores([0.9, 0.9]) == [(0, 1)]


def test_evaluate_spotting_report():
    speaking_a = np.array([1] * 10 + [0] * 10, dtype=bool)
    speaking_b = np.zeros(10, dtype=bool)
    clips = [
        # speaking TP (0..3), listening FP (12..14)
        ([(0, 3), (12, 14)], [(0, 3)], speaking_a),
        # listening TP (2..4), listening FN (7..8)
        ([(2, 4)], [(2, 4), (7, 8)], speaking_b),
    ]
    report = evaluate_spotting(clips)
    assert (report["tp"], report["fp"], report["fn"]) == (2, 1, 1)
    assert report["precision"] == pytest.approx(2 / 3)
    assert report["recall"] == pytest.approx(2 / 3)
    assert report["f1"] == pytest.approx(2 / 3)
    assert report["f1_speaking"] == pytest.approx(1.0)
    # listening: tp 1, fp 1, fn 1 -> F1 1/2
    assert report["f1_listening"] == pytest.approx(0.5)
    assert report["f1_dr"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert (report["tp_listening"], report["fp_listening"], report["fn_listening"]) == (1, 1, 1)


def test_metrics_do_not_import_torch():
    code = "import sys, meldae.metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
