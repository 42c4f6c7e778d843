"""meldae.review.agreement and ``meldae agreement``: hand-computed cases."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from meldae.annotations import ClipAnnotations, Segment, Source, save_eaf
from meldae.cli import main as cli_main
from meldae.review.agreement import alpha_nominal, compare_clip, overall
from meldae.review.agreement_files import compare_folders

FPS = Fraction(25)   # 40 ms a frame


def doc(segments=(), speaking=()):
    return ClipAnnotations(segments=[Segment(a, b) for a, b in segments],
                           speaking=[Segment(a, b) for a, b in speaking])


def test_alpha_matches_the_hand_computation():
    # units 0 0 | 1 1 | 1 0 | 0 0: o00=4, o11=2, o01=o10=1; n0=5, n1=3, n=8
    # D_o = 2/8, D_e = 2*5*3/(8*7) = 30/56, alpha = 1 - (1/4)/(30/56) = 8/15
    assert alpha_nominal(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])) == pytest.approx(8 / 15)
    assert alpha_nominal(np.array([0, 1, 0, 1]), np.array([0, 1, 0, 1])) == pytest.approx(1.0)
    # one value everywhere: agreement is perfect but alpha is undefined
    assert alpha_nominal(np.zeros(5), np.zeros(5)) is None
    assert alpha_nominal(np.zeros(0), np.zeros(0)) is None


def test_alpha_counts_only_frames_with_a_face():
    a = doc(speaking=[(1, 2)])
    b = doc(speaking=[(1, 1)])
    # frames 4-5 disagree but have no face: they must not count
    a_more = doc(speaking=[(1, 2), (4, 5)])
    faces = np.array([1, 1, 1, 1, 0, 0], bool)
    result = compare_clip("c", a_more, b, 6, FPS, face_found=faces)
    assert result.frames == 4 and result.faces_known
    assert result.alpha_speaking == pytest.approx(8 / 15)
    unknown = compare_clip("c", a, b, 4, FPS)
    assert unknown.frames == 4 and not unknown.faces_known
    assert unknown.alpha_speaking == pytest.approx(8 / 15)


def test_segment_f1_and_boundary_errors_by_hand():
    a = doc(segments=[(10, 19), (40, 49)])
    b = doc(segments=[(12, 21), (60, 65)])
    # (10,19) vs (12,21): 8 common frames of 12 -> IoU 0.67, a match; the others do not match
    result = compare_clip("c", a, b, 100, FPS)
    assert (result.segments_a, result.segments_b, result.matched) == (2, 2, 1)
    assert result.segment_f1 == pytest.approx(2 * 1 / 4)
    assert result.onset_mae_ms == pytest.approx(2 * 40.0)
    assert result.offset_mae_ms == pytest.approx(2 * 40.0)


def test_iou_below_one_half_does_not_match():
    # (0,9) vs (5,14): 5 common frames of 15 -> IoU 1/3
    result = compare_clip("c", doc(segments=[(0, 9)]), doc(segments=[(5, 14)]), 20, FPS)
    assert result.matched == 0 and result.segment_f1 == 0.0
    assert result.onset_mae_ms is None and result.offset_mae_ms is None


def test_one_annotator_without_segments():
    a_only = compare_clip("c", doc(segments=[(3, 8)]), doc(), 20, FPS)
    assert (a_only.segments_a, a_only.segments_b, a_only.matched) == (1, 0, 0)
    assert a_only.segment_f1 == 0.0 and a_only.onset_mae_ms is None
    neither = compare_clip("c", doc(), doc(), 20, FPS)
    assert neither.segment_f1 is None


def test_predicted_segments_not_accepted_do_not_count():
    a = ClipAnnotations(segments=[Segment(3, 8), Segment(30, 35, source=Source.PREDICTED)])
    result = compare_clip("c", a, doc(segments=[(3, 8)]), 50, FPS)
    assert (result.segments_a, result.matched, result.segment_f1) == (1, 1, 1.0)
    assert result.onset_mae_ms == 0.0


def test_overall_pools_frames_and_sums_counts():
    one = compare_clip("one", doc([(10, 19)], [(0, 1)]), doc([(11, 19)], [(0, 0)]), 4, FPS)
    two = compare_clip("two", doc([(5, 9)], [(2, 3)]), doc([], [(2, 3)]), 4, FPS)
    total = overall([one, two])
    assert (total.segments_a, total.segments_b, total.matched) == (2, 1, 1)
    assert total.segment_f1 == pytest.approx(2 * 1 / 3)
    assert total.onset_mae_ms == pytest.approx(40.0) and total.offset_mae_ms == 0.0
    pooled = alpha_nominal(np.array([1, 1, 0, 0, 0, 0, 1, 1]), np.array([1, 0, 0, 0, 0, 0, 1, 1]))
    assert total.alpha_speaking == pytest.approx(pooled)
    assert total.frames == 8


def _save(folder, name, segments=(), speaking=(), suffix=""):
    save_eaf(doc(segments, speaking), folder / f"{name}{suffix}.eaf", FPS)


def test_compare_folders_matches_clips_by_name(tmp_path):
    dir_a, dir_b = tmp_path / "alice", tmp_path / "bob"
    dir_a.mkdir(), dir_b.mkdir()
    _save(dir_a, "c1", [(10, 19)], [(0, 30)])
    _save(dir_b, "c1", [(12, 21)], [(0, 30)])
    _save(dir_a, "c2", [(5, 9)])
    _save(dir_b, "c2")
    _save(dir_a, "only_alice")
    report = compare_folders(dir_a, dir_b, fps=FPS)
    assert [c.clip for c in report.clips] == ["c1", "c2"]
    assert report.only_a == ("only_alice",) and report.only_b == ()
    assert report.clips[1].segment_f1 == 0.0
    assert report.overall.matched == 1


def test_cli_agreement_side_by_side_annotator_files(tmp_path, capsys):
    _save(tmp_path, "clip", [(10, 19)], [(0, 9)], suffix=".alice")
    _save(tmp_path, "clip", [(10, 19)], [(0, 4)], suffix=".bob")
    out = tmp_path / "agreement.json"
    status = cli_main(["agreement", str(tmp_path), str(tmp_path), "--annotator-a", "alice",
                       "--annotator-b", "bob", "--fps", "25", "--json", str(out)])
    assert status == 0
    report = json.loads(out.read_text())
    clip = report["clips"][0]
    assert clip["clip"] == "clip" and clip["segment_f1"] == 1.0 and clip["onset_mae_ms"] == 0.0
    # 20 frames (up to the last segment): alice speaks 0-9, bob 0-4
    assert clip["frames"] == 20
    assert clip["alpha_speaking"] == pytest.approx(
        alpha_nominal(np.r_[np.ones(10), np.zeros(10)], np.r_[np.ones(5), np.zeros(15)]), abs=1e-4)
    assert "clip" in capsys.readouterr().out


def test_cli_agreement_bad_input_is_one_line(tmp_path, capsys):
    assert cli_main(["agreement", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert cli_main(["agreement", str(tmp_path), str(tmp_path)]) == 2
    assert "same files" in capsys.readouterr().err
    _save(tmp_path, "clip", [(1, 2)], suffix=".alice")
    _save(tmp_path, "clip", [(1, 2)], suffix=".bob")
    # no video and no --fps: the clip is skipped with the reason, the exit status says so
    assert cli_main(["agreement", str(tmp_path), str(tmp_path), "--annotator-a", "alice",
                     "--annotator-b", "bob"]) == 1
    captured = capsys.readouterr()
    assert "--fps" in captured.out and "no clip" in captured.err
    assert cli_main(["agreement", str(tmp_path), str(tmp_path), "--annotator-a", "a.b",
                     "--annotator-b", "bob"]) == 2
    assert "annotator name" in capsys.readouterr().err
