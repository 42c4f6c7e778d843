"""Speaking-interval operations on Segment lists (meldae.annotations.speaking)."""

from __future__ import annotations

import numpy as np

from meldae.annotations import Segment, Source
from meldae.annotations.speaking import add_interval, intervals_from_runs, remove_at


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


def test_remove_at_and_runs_to_intervals():
    base = [Segment(0, 4), Segment(10, 14)]
    assert _spans(remove_at(base, 12)) == [(0, 4)]
    assert _spans(remove_at(base, 14)) == [(0, 4)]                      # inclusive offset
    assert _spans(remove_at(base, 7)) == [(0, 4), (10, 14)]
    runs = np.array([[3, 8], [20, 20]])
    assert _spans(intervals_from_runs(runs)) == [(3, 8), (20, 20)]
    assert intervals_from_runs(np.zeros((0, 2), np.int64)) == []
