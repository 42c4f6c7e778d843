"""meldae.review.adjudicate: disagreements, decisions, and the saved result."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

from meldae.annotations import ClipAnnotations, Segment, load_eaf
from meldae.review.adjudicate import (
    AdjudicationError,
    Decision,
    Side,
    find_disagreements,
    save_adjudicated,
)

FPS = Fraction(25)


def pair():
    a = ClipAnnotations(segments=[Segment(10, 20, annotator="alice"), Segment(50, 55, label="x")],
                        speaking=[Segment(0, 4)])
    b = ClipAnnotations(segments=[Segment(11, 20), Segment(50, 55, label="x"), Segment(80, 85)],
                        speaking=[Segment(3, 9)])
    return find_disagreements(a, b, 100, "alice", "bob")


def test_disagreements_are_found_per_lane():
    adj = pair()
    assert [(s.onset, s.offset) for s in adj.agreed_me] == [(50, 55)]
    assert adj.agreed_speaking == ((3, 4),)
    got = [(d.key, d.onset, d.offset, d.a is not None, d.b is not None) for d in adj.items]
    assert got == [("me:0", 10, 20, True, True), ("me:1", 80, 85, False, True),
                   ("speaking:0", 0, 2, True, False), ("speaking:1", 5, 9, False, True)]


def test_a_label_difference_is_a_disagreement():
    a = ClipAnnotations(segments=[Segment(1, 5, label="happy")])
    b = ClipAnnotations(segments=[Segment(1, 5, label="disgust")])
    adj = find_disagreements(a, b, 10)
    assert not adj.agreed_me and len(adj.items) == 1


def test_result_follows_the_decisions():
    adj = pair()
    decisions = {"me:0": Decision(Side.B), "me:1": Decision(Side.OWN, Segment(81, 84)),
                 "speaking:0": Decision(Side.A), "speaking:1": Decision(Side.OWN, Segment(5, 6))}
    result = adj.result(decisions, "carol")
    assert [(s.onset, s.offset, s.annotator) for s in result.segments] == [
        (11, 20, "bob"), (50, 55, "alice"), (81, 84, "carol")]
    assert [(s.onset, s.offset) for s in result.speaking] == [(0, 6)]
    dropped = adj.result({**decisions, "me:1": Decision(Side.OWN, None), "speaking:0": Decision(Side.B)},
                         "carol")
    assert [(s.onset, s.offset) for s in dropped.segments] == [(11, 20), (50, 55)]
    assert [(s.onset, s.offset) for s in dropped.speaking] == [(3, 6)]


def test_undecided_disagreements_block_the_result(tmp_path):
    adj = pair()
    with pytest.raises(AdjudicationError, match="2 disagreement"):
        adj.result({"me:0": Decision(Side.A), "me:1": Decision(Side.A)}, "carol")
    with pytest.raises(AdjudicationError):
        save_adjudicated(adj, {}, "carol", tmp_path / "c.eaf", FPS)
    assert not (tmp_path / "c.eaf").exists()


def test_saved_with_provenance(tmp_path):
    adj = pair()
    decisions = {item.key: Decision(Side.A) for item in adj.items}
    path = tmp_path / "c.eaf"
    save_adjudicated(adj, decisions, "carol", path, FPS)
    back = load_eaf(path, FPS)
    assert [(s.onset, s.offset, s.annotator) for s in back.segments] == [(10, 20, "alice"), (50, 55, "alice")]
    assert [(s.onset, s.offset) for s in back.speaking] == [(0, 4)]
    assert {t.get("ANNOTATOR") for t in ET.parse(path).getroot().iter("TIER")} == {"carol"}
    provenance = json.loads(path.with_name("c.meldae.json").read_text())["provenance"]
    assert provenance["annotators"] == ["alice", "bob"] and provenance["adjudicator"] == "carol"
    assert [d["taken"] for d in provenance["decisions"]] == ["a"] * 4
