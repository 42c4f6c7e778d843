"""Editing the speaking intervals with the keys in the window (the interval functions:
tests/meldae/test_speaking.py)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from meldae.annotations import ReviewState, Source, load_eaf


def _spans(segments):
    return [(s.onset, s.offset) for s in segments]


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
