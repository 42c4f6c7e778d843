"""The review loop by keys, bulk review by stored score, apex, the segment table and the
controlled vocabulary (unit level: a document, an editor and their actions in a window)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow, QPushButton

from app.editing.document import AnnotationDocument
from app.editing.editor import SegmentEditor
from app.editing.editor_actions import EditingActions
from app.editing.score_cutoff import ScoreCutoffDialog, picked_count
from app.review.segment_table import APEX, DURATION, LABEL, ONSET, SCORE, SegmentTable
from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source, load_eaf, save_eaf

P = Source.PREDICTED
U, A, R = ReviewState.UNREVIEWED, ReviewState.ACCEPTED, ReviewState.REJECTED
FPS = Fraction(30)


class Host:
    """A window with the editing actions, a segment table and a settable playhead."""

    def __init__(self, qtbot):
        segs = [Segment(10, 20, label="AU4"), Segment(30, 34, source=P, score=0.9),
                Segment(50, 55, source=P, score=0.4), Segment(60, 62, source=P, score=0.7,
                                                              review=R),
                Segment(80, 85, source=P, score=0.55)]
        self.doc = AnnotationDocument(ClipAnnotations(segments=segs), 200)
        self.stack = QUndoStack()
        self.editor = SegmentEditor(self.doc, self.stack)
        self.frame = 0
        self.seeks: list[int] = []
        self.editor.seek_requested.connect(self._seek)
        self.window = QMainWindow()
        qtbot.addWidget(self.window)
        self.actions = EditingActions(self.editor, self.window, lambda: self.frame).actions
        self.table = SegmentTable(self.doc, self.editor, self.window)
        self.table.source_model.set_fps(FPS)
        self.table.seek_requested.connect(self._seek)
        self.window.setCentralWidget(self.table)
        self.window.show()
        self.window.activateWindow()
        assert QTest.qWaitForWindowActive(self.window)

    def _seek(self, frame):
        self.frame = frame
        self.seeks.append(frame)

    def key(self, key, modifier=Qt.KeyboardModifier.NoModifier):
        QTest.keyClick(self.window, key, modifier)

    def onset_of_selected(self):
        return self.doc.segment(self.editor.selected).onset


@pytest.fixture
def host(qtbot):
    h = Host(qtbot)
    yield h
    h.stack.clear()


def test_n_visits_only_unreviewed_proposals_and_shift_a_moves_on(host):
    host.key(Qt.Key.Key_N)
    assert host.onset_of_selected() == 30 and host.frame == 30
    host.key(Qt.Key.Key_N)
    assert host.onset_of_selected() == 50                  # 60 (rejected) is skipped below
    host.key(Qt.Key.Key_N)
    assert host.onset_of_selected() == 80
    host.key(Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert host.onset_of_selected() == 50
    host.editor.select(-1)
    host.frame = 0
    host.key(Qt.Key.Key_N)
    host.key(Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)  # accept 30, go to 50
    reviews = {s.onset: s.review for s in host.doc.segments}
    assert reviews[30] == A and host.onset_of_selected() == 50
    host.key(Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)  # reject 50, go to 80
    host.key(Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)  # accept 80: the last one
    reviews = {s.onset: s.review for s in host.doc.segments}
    assert (reviews[50], reviews[80]) == (R, A)
    assert host.onset_of_selected() == 80
    assert not host.actions["next_unreviewed"].isEnabled()  # nothing left, and it says why
    assert "No unreviewed" in host.actions["next_unreviewed"].statusTip()
    for _ in range(3):
        host.stack.undo()
    assert all(s.review == U for s in host.doc.segments if s.onset in (30, 50, 80))


def test_bulk_review_uses_the_stored_score_cutoff(host, monkeypatch):
    asked = []
    monkeypatch.setattr("app.editing.score_cutoff.ask_score_cutoff",
                        lambda parent, scores, at_least: asked.append((scores, at_least)) or 0.6)
    host.actions["reject_below"].trigger()
    assert asked == [([0.4, 0.55, 0.9], False)]             # reviewed 0.7 not offered
    reviews = {s.onset: s.review for s in host.doc.segments}
    assert (reviews[50], reviews[80], reviews[30]) == (R, R, U)
    host.actions["accept_above"].trigger()
    assert {s.onset: s.review for s in host.doc.segments}[30] == A
    host.stack.undo()
    host.stack.undo()
    assert all(s.review == U for s in host.doc.segments if s.onset in (30, 50, 80))


def test_cutoff_dialog_previews_the_count(qtbot):
    dialog = ScoreCutoffDialog([0.2, 0.4, 0.6, 0.8], at_least=False)
    qtbot.addWidget(dialog)
    dialog.cutoff.setValue(0.5)
    assert dialog.preview.text().startswith("2 of 4")
    assert picked_count([0.2, 0.4, 0.6, 0.8], 0.6, True) == 2


def test_apex_at_the_playhead_is_undoable_and_saved(host, tmp_path):
    host.frame = 15
    host.key(Qt.Key.Key_P)                                  # the segment under the playhead
    seg = host.doc.segment(host.doc.segment_at(15))
    assert seg.apex == 15 and host.doc.is_modified
    host.frame = 40
    host.editor.select(host.doc.segment_at(12))
    host.key(Qt.Key.Key_P)                                  # outside it: refused, said why
    assert host.doc.segment(host.editor.selected).apex == 15
    path = tmp_path / "c.eaf"
    save_eaf(host.doc.annotations(), path, FPS)
    assert {s.onset: s.apex for s in load_eaf(path, FPS).segments}[10] == 15
    host.stack.undo()
    assert host.doc.segment(host.doc.segment_at(15)).apex is None


def test_table_shows_times_jumps_edits_labels_and_sorts(host):
    table, model = host.table, host.table.source_model
    assert model.rowCount() == 5
    first = table.model().index(0, ONSET)
    assert first.data() == "10  (0:00:00.333)"
    assert table.model().index(0, DURATION).data() == "367"     # 11 frames at 30 fps
    assert table.model().index(0, APEX).data() == ""
    table.clicked.emit(table.model().index(2, ONSET))          # click: select and go there
    assert host.onset_of_selected() == 50 and host.seeks[-1] == 50
    host.key(Qt.Key.Key_N)                                    # the table follows the editor
    assert table.segment_id_at(table.currentIndex().row()) == host.editor.selected
    assert table.model().setData(table.model().index(1, LABEL), "AU12")   # edit in place
    assert host.doc.segment(table.segment_id_at(1)).label == "AU12"
    host.stack.undo()
    assert host.doc.segment(table.segment_id_at(1)).label == ""
    table.sortByColumn(SCORE, Qt.SortOrder.DescendingOrder)
    assert [table.model().index(r, SCORE).data() for r in range(5)] == [
        "0.900", "0.700", "0.550", "0.400", ""]


def test_vocabulary_marks_unknown_labels_and_feeds_the_completer(host):
    host.doc.set_vocabulary(("AU12", "AU9"))
    model = host.table.source_model
    row = model.row_of(host.doc.segment_at(12))
    assert model.data(model.index(row, LABEL), Qt.ItemDataRole.ToolTipRole)  # AU4: unknown
    assert {"AU12", "AU9"} <= set(host.editor.label_model.stringList())
    assert host.doc.is_modified                        # the vocabulary is saved with the clip
    assert host.doc.annotations().vocabulary == ("AU12", "AU9")


def test_vocabulary_dialog_presets_and_labels_in_use(qtbot):
    from app.editing.vocabulary_dialog import VocabularyDialog

    dialog = VocabularyDialog(("AU4",), ["AU4", "weird"])
    qtbot.addWidget(dialog)
    buttons = {b.text(): b for b in dialog.findChildren(QPushButton)}
    buttons["+ Labels in use"].click()
    buttons["+ Emotions"].click()
    entries = dialog.vocabulary().entries
    assert entries[:2] == ("AU4", "weird") and "disgust" in entries
