"""SegmentEditor: drags, keys (via real shortcuts), nudges, review, labels, predictions."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QUndoStack  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QMainWindow  # noqa: E402

import app.editing.editor_actions  # noqa: E402
from app.editing.editor_actions import EditingActions  # noqa: E402
from app.editing.document import AnnotationDocument  # noqa: E402
from meldae.project import ClipReview  # noqa: E402
from app.editing.editor import SegmentEditor  # noqa: E402
from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source  # noqa: E402

P = Source.PREDICTED
U, A, R = ReviewState.UNREVIEWED, ReviewState.ACCEPTED, ReviewState.REJECTED


def _spans(doc):
    return [(s.onset, s.offset) for s in doc.segments]


@pytest.fixture
def setup(qtbot):
    segs = [Segment(10, 20), Segment(30, 40), Segment(50, 55, source=P, score=0.9),
            Segment(70, 72, source=P, score=0.3)]
    doc = AnnotationDocument(ClipAnnotations(segments=segs), 100)
    stack = QUndoStack()
    editor = SegmentEditor(doc, stack)
    yield doc, stack, editor
    stack.clear()  # while the editor is alive; at interpreter exit it would not be


class Host:
    """A QMainWindow with the editor's actions and a settable playhead."""

    def __init__(self, qtbot, editor):
        self.frame = 0
        self.window = QMainWindow()
        qtbot.addWidget(self.window)
        self.editing = EditingActions(editor, self.window, lambda: self.frame)
        self.actions = self.editing.actions
        self.window.show()
        self.window.activateWindow()
        assert QTest.qWaitForWindowActive(self.window)

    def key(self, key, modifier=Qt.NoModifier, frame=None):
        if frame is not None:
            self.frame = frame
        QTest.keyClick(self.window, key, modifier)


def test_drag_is_one_undo_step_and_keeps_the_id_through_resort(setup):
    doc, stack, editor = setup
    dragged = doc.ids[0]
    selections = []
    editor.selection_changed.connect(selections.append)
    for onset, offset, finished in ((12, 22, False), (35, 45, False), (42, 52, True)):
        editor.on_segment_edit_requested(dragged, onset, offset, finished)
    assert _spans(doc) == [(30, 40), (42, 52), (50, 55), (70, 72)]
    assert doc.ids[1] == dragged                   # re-sorted, same id
    assert stack.count() == 1 and editor.selected == dragged
    assert selections == [dragged]                 # one selection, never re-announced
    stack.undo()
    assert _spans(doc) == [(10, 20), (30, 40), (50, 55), (70, 72)]
    assert editor.selected == dragged == doc.ids[0]
    editor.on_segment_edit_requested(dragged, 11, 20, True)  # a new drag: a new step
    assert stack.count() == 1 and stack.index() == 1  # the undone drag was discarded


def test_editing_prediction_accepts_it(setup):
    doc, stack, editor = setup
    editor.on_segment_edit_requested(doc.ids[2], 49, 55, True)
    assert doc.segments[2] == Segment(49, 55, source=P, score=0.9, review=A)
    assert doc.clip_review == ClipReview.IN_PROGRESS


def test_create_by_mouse_selects(setup):
    doc, stack, editor = setup
    segment_id = editor.on_segment_create_requested(120, 95)
    assert doc.ids[4] == segment_id and editor.selected == segment_id
    assert doc.segment(segment_id) == Segment(95, 99)


def test_io_flow_with_shortcuts(qtbot, setup):
    doc, stack, editor = setup
    host = Host(qtbot, editor)
    assert not host.actions["set_offset"].isEnabled()
    assert "Press I" in host.actions["set_offset"].statusTip()
    host.key(Qt.Key_I, frame=60)
    assert editor.pending_onset == 60
    assert host.actions["set_offset"].isEnabled()
    host.key(Qt.Key_O, frame=64)
    assert _spans(doc)[3] == (60, 64) and editor.selected == doc.ids[3]
    assert doc.segments[3].source == Source.MANUAL
    host.key(Qt.Key_I, frame=61)  # selected: moves the onset
    host.key(Qt.Key_O, frame=66)
    assert _spans(doc)[3] == (61, 66)
    host.key(Qt.Key_I, frame=80)  # after the offset: refused
    assert _spans(doc)[3] == (61, 66)
    host.key(Qt.Key_Escape)
    assert editor.selected == -1
    host.key(Qt.Key_Z, Qt.ControlModifier)
    host.key(Qt.Key_Z, Qt.ControlModifier)
    assert _spans(doc)[3] == (60, 64)
    host.key(Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert _spans(doc)[3] == (61, 64)
    host.key(Qt.Key_Y, Qt.ControlModifier)
    assert _spans(doc)[3] == (61, 66)


def test_nudges_merge_and_shift_moves_other_edge(qtbot, setup):
    doc, stack, editor = setup
    host = Host(qtbot, editor)
    editor.select(doc.ids[1])
    depth = stack.count()
    for _ in range(3):
        host.key(Qt.Key_BracketLeft)  # active edge = onset
    assert _spans(doc)[1] == (27, 40)
    host.key(Qt.Key_BracketRight, Qt.ShiftModifier)
    host.key(Qt.Key_BracketRight, Qt.ShiftModifier)
    assert _spans(doc)[1] == (27, 42)
    assert stack.count() == depth + 2
    stack.undo()
    assert _spans(doc)[1] == (27, 40)
    stack.undo()
    assert _spans(doc)[1] == (30, 40)


def test_nudge_stops_at_bounds(setup):
    doc, stack, editor = setup
    editor.select(doc.ids[0])
    assert editor.nudge(-10) and _spans(doc)[0] == (0, 20)
    assert not editor.nudge(-1)
    assert editor.nudge(+25, "onset") and _spans(doc)[0] == (20, 20)


def test_navigation_delete_and_review_keys(qtbot, setup):
    doc, stack, editor = setup
    host = Host(qtbot, editor)
    seeks = []
    editor.seek_requested.connect(seeks.append)
    host.key(Qt.Key_Right, Qt.AltModifier, frame=25)
    assert editor.selected == doc.ids[1] and seeks == [30]
    host.frame = 30
    host.key(Qt.Key_Right, Qt.AltModifier)
    assert editor.selected == doc.ids[2] and seeks == [30, 50]
    host.key(Qt.Key_A)
    assert doc.segments[2].review == A
    host.key(Qt.Key_Escape)
    host.key(Qt.Key_R, frame=71)  # nothing selected: the segment under the playhead
    assert doc.segments[3].review == R
    host.key(Qt.Key_Left, Qt.AltModifier, frame=50)
    assert editor.selected == doc.ids[1] and seeks[-1] == 30
    host.key(Qt.Key_Delete)
    assert _spans(doc) == [(10, 20), (50, 55), (70, 72)] and editor.selected == -1
    assert not host.actions["delete"].isEnabled()


def test_accept_above_reject_below(setup):
    doc, stack, editor = setup
    editor.on_segment_create_requested(80, 85)
    extra = [Segment(90, 92, source=P, score=0.5), Segment(93, 95, source=P, score=0.49)]
    for seg in extra:
        stack.push(__import__("app.editing.commands", fromlist=["x"]).AddSegmentCommand(doc, seg))
    assert editor.accept_above(0.5) == 2  # 0.9 and 0.5
    assert editor.reject_below(0.5) == 2  # 0.3 and 0.49
    by_score = {s.score: s.review for s in doc.segments if s.source == P}
    assert by_score == {0.9: A, 0.5: A, 0.3: R, 0.49: R}
    assert all(s.review == U for s in doc.segments if s.source == Source.MANUAL)
    assert editor.accept_above(0.1) == 0
    stack.undo()
    stack.undo()
    assert all(s.review == U for s in doc.segments)


def test_labels_and_completer(qtbot, setup, monkeypatch):
    doc, stack, editor = setup
    host = Host(qtbot, editor)
    editor.select(doc.ids[0])
    monkeypatch.setattr(app.editing.editor_actions, "ask_label", lambda parent, current, ed: " micro:joy ")
    host.key(Qt.Key_L)
    assert doc.segments[0].label == "micro:joy"
    assert editor.label_model.stringList() == ["micro:joy"]
    assert not editor.set_label(doc.ids[0], "micro:joy")
    stack.undo()
    assert doc.segments[0].label == ""
    assert editor.label_model.stringList() == ["micro:joy"]  # still offered next time
    completer = editor.completer()
    completer.setCompletionPrefix("MIC")
    assert completer.currentCompletion() == "micro:joy"


def test_set_predictions_keeps_reviewed_and_merges(setup):
    doc, stack, editor = setup
    editor.accept(doc.ids[2])
    depth = stack.count()
    new = [Segment(51, 56, score=0.8), Segment(60, 62, score=0.6), Segment(98, 120, score=0.7)]
    doc.set_clean()
    assert editor.set_predictions(new) == 2
    assert not doc.is_modified  # unreviewed predictions alone are not unsaved work
    assert _spans(doc) == [(10, 20), (30, 40), (50, 55), (60, 62), (98, 99)]
    assert doc.segments[3] == Segment(60, 62, source=P, score=0.6)
    editor.set_predictions([Segment(61, 63, score=0.65)])
    assert stack.count() == depth + 1  # consecutive runs merged
    assert _spans(doc) == [(10, 20), (30, 40), (50, 55), (61, 63)]
    stack.undo()
    assert _spans(doc) == [(10, 20), (30, 40), (50, 55), (70, 72)]


def test_undo_action_disabled_with_reason(qtbot, setup):
    doc, stack, editor = setup
    host = Host(qtbot, editor)
    undo = host.actions["undo"]
    assert not undo.isEnabled() and undo.statusTip() == "Nothing to undo"
    assert undo.toolTip() == "Undo (Ctrl+Z)"
    editor.accept(doc.ids[2])
    assert undo.isEnabled() and undo.statusTip().startswith("Undo: Accept")
    assert host.actions["accept"].shortcutContext() == Qt.WindowShortcut


def test_one_edge_drag_sets_active_edge_and_clip_done_action(qtbot, setup):
    doc, stack, editor = setup
    host = Host(qtbot, editor)
    editor.on_segment_edit_requested(doc.ids[1], 30, 44, True)  # only the offset moved
    assert editor.active_edge == "offset" and editor.selected == doc.ids[1]
    host.key(Qt.Key_BracketRight)
    assert _spans(doc)[1] == (30, 45)
    assert doc.clip_review == ClipReview.IN_PROGRESS
    host.key(Qt.Key_D, Qt.ControlModifier)
    assert doc.clip_review == ClipReview.DONE and host.actions["clip_done"].isChecked()
    host.key(Qt.Key_D, Qt.ControlModifier)
    assert doc.clip_review == ClipReview.IN_PROGRESS
