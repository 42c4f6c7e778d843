"""MEGC scoring (``--protocol megc``) and the submission CSV, against hand computations."""

from __future__ import annotations

import csv
from fractions import Fraction

import numpy as np
import pytest

from meldae.megc import evaluate_spotting_megc, megc_counts, megc_rows, write_megc_csv
from meldae.metrics import evaluate_spotting, match_segments

LISTEN = np.zeros(40, bool)

# GT A = (0, 9), GT B = (2, 11); P1 = (0, 10), P2 = (0, 4).
# IoU(P1, A) = 10/11, IoU(P1, B) = 9/12 = 0.75, IoU(P2, A) = 5/10 = 0.5 (inclusive: a hit),
# IoU(P2, B) = 3/12. One-to-one greedy: P1-A first, then P2 has only A (taken) and B has only
# P1 (taken): TP 1, FP 1, FN 1. MEGC: A is found (P1, P2), B is found (P1): TP 2, FP 0, FN 0.
PREDS, GTS = [(0, 10), (0, 4)], [(0, 9), (2, 11)]


def test_protocols_differ_by_hand():
    assert match_segments(PREDS, GTS) == (1, 1, 1)
    assert megc_counts(PREDS, GTS) == (2, 0, 0)
    ours = evaluate_spotting([(PREDS, GTS, LISTEN)])
    megc = evaluate_spotting_megc([(PREDS, GTS, LISTEN)])
    assert ours["f1"] == pytest.approx(0.5) and megc["f1"] == 1.0


def test_iou_half_is_inclusive_and_below_is_a_miss():
    assert megc_counts([(0, 4)], [(0, 9)]) == (1, 0, 0)          # IoU 5/10 = 0.5 counts
    assert megc_counts([(0, 3)], [(0, 9)]) == (0, 1, 1)          # IoU 4/10 does not
    assert megc_counts([], [(0, 9)]) == (0, 0, 1)
    assert megc_counts([(0, 3)], []) == (0, 1, 0)


def test_two_predictions_on_one_truth_leave_one_false_positive():
    # Both predictions find GT (0, 9): TP 1 (the ground truth), FP 2 - 1 = 1.
    assert megc_counts([(0, 9), (0, 7)], [(0, 9)]) == (1, 1, 0)


def test_one_prediction_finding_two_truths_keeps_fp_at_zero():
    # (0, 3) covers GT (0, 1) and GT (2, 3) with IoU 2/4 = 0.5 each: MEGC counts TP 2; its
    # FP = 1 - 2 would be -1 and is counted 0.
    assert megc_counts([(0, 3)], [(0, 1), (2, 3)]) == (2, 0, 0)


def test_counts_are_pooled_over_clips():
    clips = [([(0, 9)], [(0, 9)], LISTEN), ([(20, 25), (30, 31)], [(20, 24)], LISTEN),
             ([], [(5, 9)], LISTEN)]
    # clip 1: TP 1; clip 2: TP 1, FP 1; clip 3: FN 1 -> P = 2/3, R = 2/3, F1 = 2/3
    report = evaluate_spotting_megc(clips)
    assert (report["tp"], report["fp"], report["fn"]) == (2, 1, 1)
    assert report["precision"] == pytest.approx(2 / 3) and report["f1"] == pytest.approx(2 / 3)
    # Per-clip F1s averaged would be (1 + 2/3 + 0) / 3 = 5/9: pooling is not averaging.
    assert report["f1"] != pytest.approx(5 / 9)


def test_contexts_apply_the_rule_within_each_context():
    speaking = np.arange(40) < 20
    clips = [([(0, 10), (0, 4), (30, 33)], [(0, 9), (2, 11), (25, 28)], speaking)]
    report = evaluate_spotting_megc(clips)
    assert (report["tp_speaking"], report["fp_speaking"], report["fn_speaking"]) == (2, 0, 0)
    assert (report["tp_listening"], report["fp_listening"], report["fn_listening"]) == (0, 1, 1)
    assert report["f1_speaking"] == 1.0 and report["f1_listening"] == 0.0 and report["f1_dr"] == 0.0


def test_measure_with_the_megc_protocol():
    from meldae.postprocess import PostProcessing
    from meldae.scores import ClipScores
    from meldae.train.measure import measure
    from meldae.train.validate import EvalClip

    clip = EvalClip("c", np.zeros((40, 4, 4, 3), np.uint8), np.ones(40, bool), list(GTS),
                    LISTEN.copy(), ["micro", "micro"], fps=Fraction(30))
    loc = np.zeros(40, np.float32)
    loc[0:5], loc[5:11] = 0.9, 0.6           # threshold 0.7 -> (0, 4); 0.5 -> (0, 10)
    scores = ClipScores.from_arrays(loc, None, name="c")
    low, high = PostProcessing(0.5), PostProcessing(0.7)
    # At 0.5 the one segment (0, 10) finds both ground truths the MEGC way, one of them
    # one-to-one; at 0.7 the segment (0, 4) finds A only (IoU 0.5), either way.
    megc, ours = measure([clip], [scores], low, protocol="megc"), measure([clip], [scores], low)
    assert (megc["tp"], megc["fp"], megc["fn"]) == (2, 0, 0) and megc["uf1"] == 1.0
    assert (ours["tp"], ours["fp"], ours["fn"]) == (1, 0, 1)
    high_megc = measure([clip], [scores], high, protocol="megc")
    assert (high_megc["tp"], high_megc["fp"], high_megc["fn"]) == (1, 0, 1)
    with pytest.raises(ValueError, match="unknown protocol"):
        measure([clip], [scores], low, protocol="nope")


def test_submission_rows_and_csv(tmp_path):
    rows = megc_rows("s15_0401", [(0, 9), (100, 199)], Fraction(30))
    # 10 frames at 30 fps = 0.33 s: micro; 100 frames = 3.3 s: macro; frames counted from 1
    assert rows == [("s15_0401", 1, 10, "me"), ("s15_0401", 101, 200, "mae")]
    path = write_megc_csv(tmp_path / "sub.csv", rows)
    with path.open(newline="") as f:
        table = list(csv.reader(f))
    assert table == [["vid", "pred_onset", "pred_offset", "type"],
                     ["s15_0401", "1", "10", "me"], ["s15_0401", "101", "200", "mae"]]
