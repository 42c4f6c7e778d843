"""meldae.review.queue and ``meldae suggest``: the ranking rule on crafted scores."""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source, save_eaf
from meldae.cli import main as cli_main
from meldae.postprocess import PostProcessing
from meldae.project import Project
from meldae.project.score_cache import ScoreCache, score_key
from meldae.review.queue import (
    Suggestion,
    SuggestionKind,
    clip_suggestions,
    proposal_value,
    rank,
)
from meldae.scores import ClipScores

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # project_samples (importlib mode)
from project_samples import clip_folder  # noqa: E402

FPS = Fraction(25)
POST = PostProcessing(threshold=0.5)


def crafted_loc() -> np.ndarray:
    """Four bumps: sure (0.95), borderline (0.55), near miss (peak 0.4), decided (0.8)."""
    loc = np.full(200, 0.05, np.float32)       # (200,)
    loc[10:20] = 0.95
    loc[50:60] = 0.55
    loc[90:95] = 0.40
    loc[130:140] = 0.80
    return loc


def test_proposal_value_is_one_at_the_threshold():
    assert proposal_value(0.5, 0.5) == 1.0
    assert proposal_value(0.55, 0.5) == pytest.approx(0.9)
    assert proposal_value(1.0, 0.5) == 0.0
    assert proposal_value(0.7, 0.8) == pytest.approx(1 - 0.1 / 0.8)


def test_ranking_rule_on_crafted_scores():
    scores = ClipScores.from_arrays(crafted_loc(), fps=FPS)
    decided = ClipAnnotations(segments=[Segment(131, 138)])     # someone marked the 4th bump
    queue = rank(clip_suggestions("c", scores, decided, POST))
    got = [(s.kind, s.onset, s.offset) for s in queue]
    assert got == [
        (SuggestionKind.PROPOSAL, 50, 59),    # borderline first: value 0.9
        (SuggestionKind.PROPOSAL, 10, 19),    # sure: value 0.1
        (SuggestionKind.STRETCH, 90, 94),     # no proposal, peak 0.4 >= 0.25
    ]
    assert queue[0].value == pytest.approx(0.9) and queue[1].value == pytest.approx(0.1)
    assert queue[2].score == pytest.approx(0.4) and queue[2].value == pytest.approx(0.8)


def test_rejected_proposals_and_faceless_frames_leave_the_queue():
    loc = crafted_loc()
    faces = np.ones(200, bool)
    faces[88:97] = False                       # the near miss has no face
    scores = ClipScores.from_arrays(loc, face_found=faces, fps=FPS)
    doc = ClipAnnotations(segments=[
        Segment(50, 59, source=Source.PREDICTED, review=ReviewState.REJECTED),
        Segment(10, 19, source=Source.PREDICTED),            # still unreviewed: stays
    ])
    queue = rank(clip_suggestions("c", scores, doc, POST))
    assert [(s.kind, s.onset) for s in queue] == [(SuggestionKind.PROPOSAL, 130),
                                                  (SuggestionKind.PROPOSAL, 10)]


def test_tiers_come_before_values_and_clips_order_ties():
    items = [Suggestion(SuggestionKind.UNSCORED, "a"),
             Suggestion(SuggestionKind.STRETCH, "b", 5, 9, 0.45, 0.9),
             Suggestion(SuggestionKind.PROPOSAL, "c", 1, 2, 0.99, 0.02),
             Suggestion(SuggestionKind.PROPOSAL, "b", 1, 2, 0.99, 0.02)]
    assert [(s.kind.value, s.clip) for s in rank(items)] == [
        ("proposal", "b"), ("proposal", "c"), ("stretch", "b"), ("unscored", "a")]


def _checkpoint(tmp_path, threshold=0.5) -> Path:
    weights = tmp_path / "ck.safetensors"
    weights.write_bytes(b"not really weights")
    info = {"format": "meldae-checkpoint", "version": 1, "model": {},
            "meta": {"postprocessing": {"threshold": threshold}}}
    weights.with_suffix(".json").write_text(json.dumps(info))
    return weights


def test_project_queue_from_the_score_cache(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    folder = clip_folder(tmp_path / "p", ["a_scored", "b_unscored", "c_done"], eaf=False)
    (folder / "a_scored.mp4").write_bytes(b"video a")       # distinct contents, distinct keys
    (folder / "b_unscored.mp4").write_bytes(b"video b")
    (folder / "c_done.mp4").write_bytes(b"video c")
    ck = _checkpoint(tmp_path)
    cache = ScoreCache()
    for name in ("a_scored", "c_done"):
        cache.put(score_key(folder / f"{name}.mp4", ck),
                  ClipScores.from_arrays(crafted_loc(), state=np.zeros(200), fps=FPS))
    save_eaf(ClipAnnotations(segments=[Segment(10, 19)]), folder / "a_scored.eaf", FPS)
    Project(folder).update("c_done", review="done")
    out = tmp_path / "queue.json"
    assert cli_main(["suggest", str(folder), "--checkpoint", str(ck), "--json", str(out)]) == 0
    queue = json.loads(out.read_text())["suggestions"]
    assert [(q["kind"], q["clip"], q["onset"]) for q in queue] == [
        ("proposal", "a_scored", 50), ("proposal", "a_scored", 130),
        ("stretch", "a_scored", 90), ("unscored", "b_unscored", None)]
    text = capsys.readouterr().out
    assert "4 suggestions" in text and "b_unscored: not scored yet" in text


def test_suggest_with_a_bad_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    folder = clip_folder(tmp_path / "p", ["a"], eaf=False)
    assert cli_main(["suggest", str(folder), "--checkpoint", str(tmp_path / "none.safetensors")]) == 2
    assert "checkpoint" in capsys.readouterr().err
    assert cli_main(["suggest", str(tmp_path / "nope"), "--checkpoint", str(_checkpoint(tmp_path))]) == 2
    assert "not a folder" in capsys.readouterr().err
