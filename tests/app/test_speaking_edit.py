"""Editing the speaking intervals: the interval functions and the keys in the window."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.speaking_edit import accept_intervals, add_interval, remove_at
from meldae.annotations import ReviewState, Segment, Source, load_eaf


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


def test_mark_delete_and_use_the_model_by_keys_with_undo(qtbot, window, clip_dir_copy):
    project = clip_dir_copy
    messages: list[str] = []
    with qtbot.waitSignal(window.scores_ready, timeout=120_000):
        window.open_path(project)
    window.show_status = lambda text, timeout_ms=0: messages.append(text)
    window.speaking_editor.status = window.show_status
    doc, stack = window.document, window.undo_stack
    window.activateWindow()
    assert QTest.qWaitForWindowActive(window)
    doc.set_speaking([])
    stack.clear()
    window.player.seek(12)
    QTest.keyClick(window, Qt.Key.Key_S)
    assert doc.speaking == () and "frame 12" in messages[-1]            # waiting for the end
    window.player.seek(5)
    QTest.keyClick(window, Qt.Key.Key_S)                                # either order
    assert _spans(doc.speaking) == [(5, 12)] and stack.count() == 1
    window.player.seek(20)
    QTest.keyClick(window, Qt.Key.Key_S)
    window.player.seek(13)
    QTest.keyClick(window, Qt.Key.Key_S)                                # touches: merged
    assert _spans(doc.speaking) == [(5, 20)]
    window.player.seek(8)
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)
    assert doc.speaking == ()
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)
    assert "No speaking interval at frame 8" in messages[-1]
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _spans(doc.speaking) == [(5, 20)]                            # undo the delete
    # the model's band becomes the annotation, in one undo step
    post = window.proposals.post
    window.proposals.set_post(replace(post, state_threshold=0.0))       # every face frame
    runs = window.timeline.speak_model_item.segments                    # the band drawn
    assert len(runs) >= 1
    window.speaking_editor.model_action.trigger()
    assert _spans(doc.speaking) == [tuple(r) for r in runs.tolist()]
    assert all(s.source == Source.PREDICTED and s.review == ReviewState.ACCEPTED
               for s in doc.speaking)
    assert doc.annotations().confirmed_speaking() == list(doc.speaking)  # the annotation
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _spans(doc.speaking) == [(5, 20)]
    # saved to the EAF's Speaking tier
    window.review.session.save()
    saved = load_eaf(window.review.clip.eaf_path, window.player.fps)
    assert _spans(saved.speaking) == [(5, 20)]
