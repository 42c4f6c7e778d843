"""Speaking-interval operations on Segment lists (meldae.annotations.speaking)."""

from __future__ import annotations

from meldae.annotations import ReviewState, Segment, Source
from meldae.annotations.speaking import accept_intervals, add_interval, remove_at


def _spans(segments):
    return [(s.onset, s.offset) for s in segments]


def test_add_interval_merges_overlapping_and_touching_intervals():
    base = [Segment(0, 4), Segment(10, 14), Segment(30, 40)]
    assert _spans(add_interval(base, 20, 25)) == [(0, 4), (10, 14), (20, 25), (30, 40)]
    assert _spans(add_interval(base, 25, 20)) == [(0, 4), (10, 14), (20, 25), (30, 40)]
    assert _spans(add_interval(base, 5, 9)) == [(0, 14), (30, 40)]      # touches both sides
    assert _spans(add_interval(base, 12, 33)) == [(0, 4), (10, 40)]     # overlaps two
    assert _spans(add_interval(base, 16, 28)) == [(0, 4), (10, 14), (16, 28), (30, 40)]
    assert _spans(add_interval([], 7, 7)) == [(7, 7)]                   # one frame is valid
    assert all(s.source == Source.MANUAL for s in add_interval(base, 5, 9))


def test_remove_at_and_accepting_the_model_intervals():
    base = [Segment(0, 4), Segment(10, 14)]
    assert _spans(remove_at(base, 12)) == [(0, 4)]
    assert _spans(remove_at(base, 14)) == [(0, 4)]                      # inclusive offset
    assert _spans(remove_at(base, 7)) == [(0, 4), (10, 14)]
    proposed = [Segment(20, 20, source=Source.PREDICTED, score=0.6),
                Segment(3, 8, source=Source.PREDICTED, score=0.9)]
    accepted = accept_intervals(proposed)
    assert _spans(accepted) == [(3, 8), (20, 20)]
    # the model proposed them (PREDICTED, as `meldae infer` writes them); the annotator took them
    assert all(s.source == Source.PREDICTED and s.review == ReviewState.ACCEPTED
               for s in accepted)
    assert [s.score for s in accepted] == [0.9, 0.6]
    assert accept_intervals([]) == []
