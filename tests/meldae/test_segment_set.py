"""AnnotationSet: stable ids, the order, validation, leniency on load, navigation."""

from __future__ import annotations

import pytest

from meldae.annotations import AnnotationSet, ReviewState, Segment, Source


def _spans(aset):
    return [(s.onset, s.offset) for s in aset.segments]


def test_ids_survive_resorting_removal_and_reinsertion():
    aset = AnnotationSet([Segment(50, 60), Segment(10, 20)], n_frames=100)
    assert _spans(aset) == [(10, 20), (50, 60)]
    early, late = aset.ids
    aset.replace(early, Segment(70, 80))
    assert aset.ids == (late, early) and aset.position(early) == 1
    gone = aset.remove(late)
    assert gone == Segment(50, 60) and late not in aset
    assert aset.insert(gone, late) == late and aset.ids == (late, early)
    fresh = aset.insert(Segment(1, 2))
    assert fresh not in (early, late)
    with pytest.raises(ValueError, match="in use"):
        aset.insert(Segment(3, 4), fresh)


def test_set_segments_keeps_the_ids_of_pairs_and_never_reuses_one():
    aset = AnnotationSet([Segment(1, 2), Segment(5, 6)])
    kept, dropped = aset.ids
    aset.set_segments([(kept, Segment(1, 2)), Segment(8, 9)])
    assert aset.ids[0] == kept and aset.ids[1] not in (kept, dropped)


def test_order_is_total_so_it_depends_on_content_only():
    a = Segment(10, 20, source=Source.PREDICTED, review=ReviewState.ACCEPTED)
    b = Segment(10, 20)
    assert AnnotationSet([a, b]).segments == AnnotationSet([b, a]).segments


def test_validation_clamp_and_fit():
    aset = AnnotationSet(n_frames=100)
    with pytest.raises(ValueError, match="last frame"):
        aset.insert(Segment(90, 100))
    assert aset.clamp(120, -5) == (0, 99)
    fitted = aset.fit([Segment(95, 120, apex=110), Segment(150, 160), Segment(5, 6)])
    assert fitted == [Segment(95, 99), Segment(5, 6)]     # clamped (apex outside dropped), dropped


def test_navigation_answers_ids():
    aset = AnnotationSet([Segment(10, 20), Segment(15, 30), Segment(50, 60)])
    a, b, c = aset.ids
    assert (aset.segment_at(9), aset.segment_at(10), aset.segment_at(16)) == (None, a, b)
    assert (aset.next_segment(10), aset.next_segment(50)) == (b, None)
    assert (aset.previous_segment(50), aset.previous_segment(10)) == (b, None)
    assert aset.find(Segment(50, 60)) == c
    assert aset.labels() == []
