"""Undo commands: redo applies, undo restores exact values, merging rules."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtGui import QUndoStack  # noqa: E402

from app.editing.commands import (  # noqa: E402
    AddSegmentCommand,
    BulkReviewCommand,
    EditSegmentCommand,
    LoadAnnotationsCommand,
    RemoveSegmentCommand,
    ReplacePredictionsCommand,
    SetLabelCommand,
    SetReviewCommand,
    SetSpeakingCommand,
)
from app.editing.document import AnnotationDocument  # noqa: E402
from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source  # noqa: E402

P = Source.PREDICTED
U, A, R = ReviewState.UNREVIEWED, ReviewState.ACCEPTED, ReviewState.REJECTED


@pytest.fixture
def doc(qtbot):
    segs = [Segment(10, 20, label="micro:joy"), Segment(30, 40, apex=35),
            Segment(50, 55, source=P, score=0.9), Segment(70, 72, source=P, score=0.2)]
    return AnnotationDocument(ClipAnnotations(segments=segs, speaking=[Segment(0, 25)]), 100)


def _state(doc):
    return doc.items(), doc.speaking    # ids included: undo and redo restore them too


def _check_round_trip(doc, command, expected_segments=None):
    stack = QUndoStack()
    before = _state(doc)
    stack.push(command)
    after = _state(doc)
    assert after != before
    if expected_segments is not None:
        assert doc.segments == tuple(expected_segments)
    stack.undo()
    assert _state(doc) == before
    assert not doc.is_modified
    stack.redo()
    assert _state(doc) == after
    return stack


def test_add(doc):
    s = Segment(60, 61)
    _check_round_trip(doc, AddSegmentCommand(doc, s),
                      [doc.segments[0], doc.segments[1], doc.segments[2], s, doc.segments[3]])


def test_remove(doc):
    _check_round_trip(doc, RemoveSegmentCommand(doc, doc.ids[1]),
                      [doc.segments[0], doc.segments[2], doc.segments[3]])


def test_edit_reorders_and_undoes(doc):
    s0, s1, s2, s3 = doc.segments
    moved = doc.ids[0]
    cmd = EditSegmentCommand(doc, moved, Segment(80, 90, label="micro:joy"))
    _check_round_trip(doc, cmd, [s1, s2, s3, Segment(80, 90, label="micro:joy")])
    assert doc.ids[3] == moved          # re-sorted, same id


def test_set_review_and_label(doc):
    s2 = doc.segments[2]
    _check_round_trip(doc, SetReviewCommand(doc, doc.ids[2], A))
    assert doc.segments[2] == Segment(50, 55, source=P, score=0.9, review=A)
    doc2 = AnnotationDocument(doc.annotations(), 100)
    _check_round_trip(doc2, SetLabelCommand(doc2, doc2.ids[1], "micro:fear"))
    assert doc2.segments[1].label == "micro:fear" and doc2.segments[1].apex == 35
    assert s2.review == U


def test_bulk_review(doc):
    cmd = BulkReviewCommand(doc, doc.ids[2:], R)
    _check_round_trip(doc, cmd)
    assert [s.review for s in doc.segments] == [U, U, R, R]


def test_speaking(doc):
    _check_round_trip(doc, SetSpeakingCommand(doc, [Segment(5, 9), Segment(40, 99)]))
    assert doc.speaking == (Segment(5, 9), Segment(40, 99))


def test_replace_predictions_merges(doc):
    stack = QUndoStack()
    original = doc.segments
    first = list(original[:2]) + [Segment(60, 65, source=P, score=0.7)]
    second = list(original[:2]) + [Segment(60, 66, source=P, score=0.8)]
    stack.push(ReplacePredictionsCommand(doc, first))
    stack.push(ReplacePredictionsCommand(doc, second))
    assert stack.count() == 1
    assert doc.segments == tuple(second)
    stack.undo()
    assert doc.segments == original


def test_removed_segment_comes_back_with_its_id(doc):
    stack = QUndoStack()
    gone = doc.ids[1]
    stack.push(RemoveSegmentCommand(doc, gone))
    assert gone not in doc
    stack.undo()
    assert doc.ids[1] == gone and doc.segment(gone) == Segment(30, 40, apex=35)
    add = AddSegmentCommand(doc, Segment(60, 61))
    stack.push(add)
    added = add.segment_id
    stack.undo()
    stack.redo()
    assert add.segment_id == added and doc.segment(added) == Segment(60, 61)


def test_load_command(doc):
    ann = ClipAnnotations(segments=[Segment(1, 2), Segment(90, 150)], speaking=[])
    _check_round_trip(doc, LoadAnnotationsCommand(doc, ann), [Segment(1, 2), Segment(90, 99)])
    assert doc.speaking == ()


def test_drag_merge_is_one_step(doc):
    stack = QUndoStack()
    original = doc.segments
    key, dragged = ("drag", 1), doc.ids[0]
    for onset in (11, 12, 13):
        stack.push(EditSegmentCommand(doc, dragged, Segment(onset, 20, label="micro:joy"), key))
    assert stack.count() == 1
    assert doc.segments[0] == Segment(13, 20, label="micro:joy")
    stack.undo()
    assert doc.segments == original
    stack.redo()
    assert doc.segments[0] == Segment(13, 20, label="micro:joy")


def test_different_keys_do_not_merge_and_round_trip_is_obsolete(doc):
    stack = QUndoStack()
    first = doc.ids[0]
    stack.push(EditSegmentCommand(doc, first, Segment(11, 20, label="micro:joy"), ("drag", 1)))
    stack.push(EditSegmentCommand(doc, first, Segment(12, 20, label="micro:joy"), ("drag", 2)))
    assert stack.count() == 2
    stack.push(EditSegmentCommand(doc, first, Segment(11, 20, label="micro:joy"), ("drag", 2)))
    assert stack.count() == 1  # drag 2 came back to where it started: obsolete, dropped
    assert doc.segments[0] == Segment(11, 20, label="micro:joy")


def test_invalid_edit_is_refused_before_push(doc):
    with pytest.raises(ValueError):
        EditSegmentCommand(doc, doc.ids[0], Segment(95, 120))
    with pytest.raises(ValueError):
        AddSegmentCommand(doc, Segment(99, 100))
