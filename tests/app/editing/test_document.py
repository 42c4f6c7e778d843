"""AnnotationDocument: segments by id, signals, validation, modified flag, queries."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6.QtWidgets")

from app.editing.document import AnnotationDocument  # noqa: E402
from meldae.project import ClipReview  # noqa: E402
from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source  # noqa: E402


def _record(doc: AnnotationDocument) -> list[tuple]:
    events: list[tuple] = []
    doc.segment_added.connect(lambda i: events.append(("added", i)))
    doc.segment_removed.connect(lambda i: events.append(("removed", i)))
    doc.segment_changed.connect(lambda i: events.append(("changed", i)))
    doc.reset.connect(lambda: events.append(("reset",)))
    doc.modified_changed.connect(lambda m: events.append(("modified", m)))
    return events


def _doc(*spans: tuple[int, int], n_frames: int = 100) -> AnnotationDocument:
    segs = [Segment(a, b) for a, b in spans]
    return AnnotationDocument(ClipAnnotations(segments=segs, speaking=[]), n_frames)


def test_segments_sorted_and_insert_gives_an_id(qtbot):
    doc = _doc((50, 60), (10, 20))
    assert [(s.onset, s.offset) for s in doc.segments] == [(10, 20), (50, 60)]
    events = _record(doc)
    new = doc.insert_segment(Segment(30, 35))
    assert doc.ids[1] == new and doc.segment(new) == Segment(30, 35)
    assert [(s.onset, s.offset) for s in doc.segments] == [(10, 20), (30, 35), (50, 60)]
    assert events == [("added", new), ("modified", True)]


def test_replace_keeps_the_id_also_when_it_reorders(qtbot):
    doc = _doc((10, 20), (30, 35), (50, 60))
    first = doc.ids[0]
    events = _record(doc)
    doc.replace_segment(first, Segment(55, 58))
    assert [(s.onset, s.offset) for s in doc.segments] == [(30, 35), (50, 60), (55, 58)]
    assert doc.ids[2] == first
    assert events == [("changed", first), ("modified", True)]


def test_remove_returns_segment(qtbot):
    doc = _doc((10, 20), (30, 35))
    first = doc.ids[0]
    events = _record(doc)
    assert doc.remove_segment(first) == Segment(10, 20)
    assert events == [("removed", first), ("modified", True)]
    with pytest.raises(KeyError):
        doc.remove_segment(first)


def test_validation_rejects_out_of_range(qtbot):
    doc = _doc(n_frames=100)
    with pytest.raises(ValueError, match="last frame"):
        doc.insert_segment(Segment(90, 100))
    assert doc.insert_segment(Segment(99, 99)) in doc
    assert doc.clamp(120, -5) == (0, 99)
    assert doc.clamp(40, 30) == (30, 40)


def test_load_clamps_and_drops(qtbot):
    ann = ClipAnnotations(segments=[Segment(95, 120), Segment(150, 160), Segment(5, 6)],
                          speaking=[Segment(0, 200)])
    doc = AnnotationDocument(ann, n_frames=100)
    assert [(s.onset, s.offset) for s in doc.segments] == [(5, 6), (95, 99)]
    assert [(s.onset, s.offset) for s in doc.speaking] == [(0, 99)]
    assert not doc.is_modified


def test_modified_clears_when_content_returns(qtbot):
    doc = _doc((10, 20))
    events = _record(doc)
    only = doc.ids[0]
    doc.replace_segment(only, Segment(11, 20))
    assert doc.is_modified
    doc.replace_segment(only, Segment(10, 20))
    assert not doc.is_modified
    doc.insert_segment(Segment(40, 41))
    doc.set_clean()
    assert not doc.is_modified
    assert [e for e in events if e[0] == "modified"] == [
        ("modified", True), ("modified", False), ("modified", True), ("modified", False)]


def test_recovered_load_is_modified(qtbot):
    doc = _doc((10, 20))
    doc.load(ClipAnnotations(segments=[Segment(1, 2)], speaking=[]), 100, mark_clean=False)
    assert doc.is_modified
    doc.load(ClipAnnotations(segments=[Segment(10, 20)], speaking=[]), 100, mark_clean=False)
    assert not doc.is_modified


def test_queries_answer_ids(qtbot):
    doc = _doc((10, 20), (15, 30), (50, 60))
    a, b, c = doc.ids
    assert doc.segment_at(9) is None
    assert doc.segment_at(10) == a
    assert doc.segment_at(16) == b  # the latest-starting segment covering the frame
    assert doc.segment_at(25) == b
    assert doc.segment_at(40) is None
    assert doc.next_segment(10) == b
    assert doc.next_segment(15) == c
    assert doc.next_segment(50) is None
    assert doc.previous_segment(50) == b
    assert doc.previous_segment(10) is None
    assert doc.find(Segment(50, 60)) == c
    with pytest.raises(ValueError):
        doc.find(Segment(50, 61))


def test_a_new_load_never_reuses_ids(qtbot):
    doc = _doc((10, 20))
    old = set(doc.ids)
    doc.load(ClipAnnotations(segments=[Segment(10, 20)], speaking=[]), 100)
    assert not old & set(doc.ids)


def test_annotations_copy_and_clip_review(qtbot):
    doc = AnnotationDocument(ClipAnnotations(segments=[Segment(3, 4, label="x")], speaking=[],
                                             review=ReviewState.ACCEPTED), 10)
    assert doc.clip_review == ClipReview.DONE
    ann = doc.annotations()
    ann.segments.append(Segment(1, 1))
    assert len(doc.segments) == 1
    changes = []
    doc.clip_review_changed.connect(lambda: changes.append(doc.clip_review))
    doc.set_clip_review(ClipReview.IN_PROGRESS)
    doc.set_clip_review(ClipReview.IN_PROGRESS)
    assert changes == [ClipReview.IN_PROGRESS]
    assert doc.annotations().review == ReviewState.UNREVIEWED
    assert not doc.is_modified  # clip review is project state


def test_equal_times_order_is_deterministic(qtbot):
    a = Segment(10, 20, source=Source.PREDICTED, review=ReviewState.ACCEPTED)
    b = Segment(10, 20, source=Source.MANUAL)
    d1 = AnnotationDocument(ClipAnnotations(segments=[a, b]), 100)
    d2 = AnnotationDocument(ClipAnnotations(segments=[b, a]), 100)
    assert d1.segments == d2.segments
    assert d1.labels() == []
