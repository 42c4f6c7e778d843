"""Evaluation: metrics from scores, post-processing from validation, the evaluate command."""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from meldae.evaluate import EvaluationError, build_report, format_report
from meldae.postprocess import PostProcessing
from meldae.scores import ClipScores
from meldae.train.measure import (measure, predicted_segments, select_postprocessing,
                                  tune_postprocessing, tune_state_threshold)
from meldae.train.validate import EvalClip

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import make_synth_folder, one_thread, small_config_file  # noqa: E402


def _clip(name="c", n=16, gts=((2, 4),), labels=None, speaking_until=8):
    return EvalClip(name, np.zeros((n, 8, 8, 3), np.uint8), np.ones(n, bool), list(gts),
                    np.arange(n) < speaking_until, list(labels or []), fps=Fraction(30))


def _scores(n, bumps, name="c", state=None):
    loc = np.zeros(n, np.float32)
    for (on, off), value in bumps:
        loc[on:off + 1] = value
    return ClipScores.from_arrays(loc, state, name=name)


def test_measure_counts_contexts_by_hand():
    # GT (2,4) lies in the speaking half (frames 0-7); a hit on it and a false alarm at
    # 12-13 in the listening half: TP 1 speaking, FP 1 listening.
    clip = _clip()
    scores = _scores(16, [((2, 4), 0.9), ((12, 13), 0.8)],
                     state=(np.arange(16) < 6).astype(np.float32))
    m = measure([clip], [scores], PostProcessing(0.5))
    assert (m["tp"], m["fp"], m["fn"]) == (1, 1, 0)
    assert m["f1"] == pytest.approx(2 / 3)
    assert (m["f1_speaking"], m["f1_listening"], m["f1_dr"]) == (1.0, 0.0, 0.0)
    assert m["acc_state"] == pytest.approx(14 / 16)      # frames 6 and 7 are wrong
    assert "acc_me" not in m and "uf1" not in m          # no ME head, no expression types
    # Above the false alarm's score, only the true segment remains.
    assert measure([clip], [scores], PostProcessing(0.85))["f1"] == 1.0


def test_no_segment_crosses_a_frame_without_a_face():
    clip = _clip(gts=[(2, 9)])
    clip.face_found[5] = False
    scores = _scores(16, [((2, 9), 0.9)])
    assert predicted_segments(PostProcessing(0.5, merge_gap=3), scores, clip) == [(2, 4), (6, 9)]


def test_uf1_uses_expression_types_and_durations():
    # micro GT (2,4) found; macro GT (20,39) missed; a 3-frame false alarm at 50-52 counts
    # as micro (<= 0.5 s at 30 fps). micro: TP1 FP1 -> F1 2/3; macro: FN1 -> 0. UF1 = 1/3.
    clip = _clip(n=60, gts=[(2, 4), (20, 39)], labels=["micro:joy", "macro:surprise"])
    scores = _scores(60, [((2, 4), 0.9), ((50, 52), 0.9)])
    m = measure([clip], [scores], PostProcessing(0.5))
    assert m["uf1_classes"] == ["macro", "micro"]
    assert m["uf1"] == pytest.approx((2 / 3 + 0.0) / 2)


def test_tuning_chooses_a_threshold_that_separates_on_validation():
    clips = [_clip("a"), _clip("b", gts=[(10, 12)])]
    scores = [_scores(16, [((2, 4), 0.7), ((12, 13), 0.3)], "a"),
              _scores(16, [((10, 12), 0.75), ((0, 1), 0.35)], "b")]
    post, metrics = tune_postprocessing(clips, scores)
    assert 0.35 <= post.threshold < 0.7
    assert metrics["f1"] == 1.0


def test_state_threshold_chosen_by_frame_accuracy_on_face_frames():
    # Speaking frames 0-7 score 0.3, listening frames 8-15 score 0.1: at 0.5 every frame is
    # "listening" (accuracy 0.5); any threshold in (0.1, 0.3] separates them perfectly, and
    # of those (0.15 ... 0.3) the one nearest 0.5 wins.
    clip = _clip()
    state = np.where(np.arange(16) < 8, 0.3, 0.1).astype(np.float32)
    assert tune_state_threshold([clip], [_scores(16, [], state=state)]) == pytest.approx(0.3)
    # A frame without a face does not count, whatever its score.
    clip.face_found[12] = False
    state[12] = 0.9
    assert tune_state_threshold([clip], [_scores(16, [], state=state)]) == pytest.approx(0.3)
    # No state head (a baseline): nothing to choose.
    assert tune_state_threshold([clip], [_scores(16, [])]) is None
    # A head that does not separate the classes (constant 0.2, 10 of 16 frames speaking):
    # 0.15 would answer "speaking" everywhere (the majority, 62.5 %) -- it keeps 0.5.
    clip = _clip(speaking_until=10)
    flat = np.full(16, 0.2, np.float32)
    assert tune_state_threshold([clip], [_scores(16, [], state=flat)]) == 0.5


def test_selected_postprocessing_carries_the_state_threshold():
    from meldae.train.config import TrainConfig

    clip = _clip()
    state = np.where(np.arange(16) < 8, 0.3, 0.1).astype(np.float32)
    chosen, metrics = select_postprocessing([clip], [_scores(16, [((2, 4), 0.9)], state=state)],
                                            TrainConfig())
    assert chosen["state_threshold"] == pytest.approx(0.3)
    assert metrics["acc_state"] == pytest.approx(0.5)        # Acc_State stays at 0.5
    fixed, _ = select_postprocessing([clip], [_scores(16, [], state=state)],
                                     TrainConfig(tune_postprocessing=False))
    assert fixed["state_threshold"] == 0.5                  # not tuned: the default, written
    assert fixed["source"] == "fixed in the train config"


def test_report_table_and_validation_warning():
    clip = _clip()
    report = build_report([clip], [_scores(16, [((2, 4), 0.9)])], PostProcessing(0.4),
                          "chosen on the validation split (1 clips) by best F1_DR", "val")
    assert "optimistic" in report["warning"]
    assert report["clips"][0]["predicted"] == [[2, 4]]
    text = format_report(report)
    assert "threshold 0.4" in text and text.splitlines()[-1].startswith("overall")
    assert "100.00" in text.splitlines()[-1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A synthetic folder and a tiny checkpoint trained on it for one step."""
    root = tmp_path_factory.mktemp("evaluate")
    cache = root / "cache"
    data = root / "data"
    make_synth_folder(data)
    from meldae.cli import main

    mp = pytest.MonkeyPatch()
    mp.setenv("MELDAE_CACHE_DIR", str(cache))
    try:
        with one_thread():
            status = main(["train", str(data), "--out", str(root / "run"), "--config",
                           str(small_config_file(root / "cfg.json"))])
    finally:
        mp.undo()
    assert status == 0
    return data, root / "run", cache


@pytest.mark.slow
def test_evaluate_uses_the_validation_choice_on_the_test_split(trained, tmp_path, capsys,
                                                               monkeypatch):
    from meldae.cli import main

    data, run, cache = trained
    monkeypatch.setenv("MELDAE_CACHE_DIR", str(cache))
    meta = json.loads((run / "best.json").read_text())["meta"]
    with one_thread():
        status = main(["evaluate", str(data), "--checkpoint", str(run / "best.safetensors"),
                       "--json", str(tmp_path / "report.json")])
    assert status == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["split"] == "test"
    assert [c["clip"] for c in report["clips"]] == meta["splits"]["test"]
    post = report["postprocessing"]
    assert post["threshold"] == meta["postprocessing"]["threshold"]
    assert "validation" in post["source"]
    assert set(report["overall"]) >= {"f1", "precision", "recall", "f1_speaking",
                                      "f1_listening", "f1_dr", "acc_me", "acc_state"}
    assert "overall" in capsys.readouterr().out
    with pytest.raises(EvaluationError, match="no annotated clips"):
        from meldae.evaluate import select_clips

        select_clips(data, "test", {"splits": {"test": []}, "trained_on": str(data)})
