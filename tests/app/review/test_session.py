"""ClipSession: debounced atomic autosave, crash recovery, save / save-as / open, closing."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtGui import QUndoStack  # noqa: E402

import meldae.atomic  # noqa: E402
import app.review.session  # noqa: E402
from app.editing.commands import AddSegmentCommand, EditSegmentCommand  # noqa: E402
from app.editing.document import AnnotationDocument  # noqa: E402
from meldae.annotations import segment_key  # noqa: E402
from meldae.project import ClipReview  # noqa: E402
from app.review.session import ClipSession  # noqa: E402
from meldae.project.autosave import read_autosave  # noqa: E402
from meldae.annotations import (  # noqa: E402
    ClipAnnotations, ReviewState, Segment, Source, load_eaf, save_eaf,
)

FPS = Fraction(30000, 1001)
N = 300
P = Source.PREDICTED


def _initial() -> ClipAnnotations:
    return ClipAnnotations(
        segments=[Segment(10, 20, label="micro:joy"), Segment(100, 104, apex=102),
                  Segment(150, 158, source=P, score=0.81),
                  Segment(200, 203, source=P, score=0.4, review=ReviewState.REJECTED)],
        speaking=[Segment(0, 49), Segment(120, 299)])


@pytest.fixture
def clip(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded in these tests")
    eaf = tmp_path / "clip.eaf"
    save_eaf(_initial(), eaf, FPS, media_path=video)
    return video, eaf


def _open(clip, delay_ms=100):
    video, eaf = clip
    doc = AnnotationDocument(load_eaf(eaf, FPS), N)
    stack = QUndoStack()
    session = ClipSession(video, eaf, FPS, N, doc, undo_stack=stack, autosave_delay_ms=delay_ms)
    return doc, stack, session


def test_eaf_round_trip_is_exact(qtbot, clip):
    doc, stack, session = _open(clip)
    assert sorted(doc.segments, key=segment_key) == sorted(_initial().segments, key=segment_key)
    stack.push(AddSegmentCommand(doc, Segment(250, 250, label="micro:fear")))
    stack.push(EditSegmentCommand(doc, doc.ids[0], Segment(9, 21, label="micro:joy")))
    assert doc.is_modified
    path = session.save()
    assert not doc.is_modified          # the document is the one record of unsaved edits
    assert not session.autosave_path.exists()
    reloaded = AnnotationDocument(load_eaf(path, FPS), N)
    assert reloaded.segments == doc.segments
    assert reloaded.speaking == doc.speaking
    assert (clip[1].parent / "clip.eaf.1").exists()  # backup of the previous version
    session.close()


def test_autosave_after_debounce_and_atomic(qtbot, clip, monkeypatch):
    doc, stack, session = _open(clip, delay_ms=150)
    stack.push(AddSegmentCommand(doc, Segment(60, 70)))
    assert session.autosave_pending and not session.autosave_path.exists()
    qtbot.waitUntil(session.autosave_path.exists, timeout=3000)
    ann, review, payload = read_autosave(session.autosave_path)
    assert tuple(sorted(ann.segments, key=segment_key)) == tuple(sorted(doc.segments, key=segment_key))
    assert payload["fps"] == "30000/1001" and payload["n_frames"] == N
    assert review == ClipReview.UNREVIEWED
    before = session.autosave_path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(meldae.atomic.os, "replace", broken_replace)
    failures = []
    session.autosave_failed.connect(failures.append)
    stack.push(AddSegmentCommand(doc, Segment(80, 81)))
    assert not session.autosave_now()
    assert failures and "No space left" in failures[0]
    assert session.autosave_path.read_bytes() == before  # never a half-written file
    assert [p.name for p in session.autosave_path.parent.iterdir() if p.suffix == ".tmp"] == []
    monkeypatch.undo()
    stack.undo()
    stack.undo()
    assert not doc.is_modified
    assert session.autosave_now()
    assert not session.autosave_path.exists()  # back at the saved state: nothing to recover
    session.close()


def test_recovery_after_crash(qtbot, clip, monkeypatch):
    doc, stack, session = _open(clip, delay_ms=50)
    stack.push(AddSegmentCommand(doc, Segment(60, 70, label="micro:sad")))
    doc.set_clip_review(ClipReview.IN_PROGRESS)
    qtbot.waitUntil(session.autosave_path.exists, timeout=3000)
    edited = doc.segments
    del session  # the "crash": no save, no close

    doc2, stack2, session2 = _open(clip, delay_ms=50)
    assert session2.has_recovery()
    doc2.load(load_eaf(clip[1], FPS), N)  # a reload must not wipe the pending autosave
    qtbot.wait(150)
    assert session2.autosave_path.exists()
    asked = []
    monkeypatch.setattr(app.review.session, "show_recovery_dialog",
                        lambda parent, name, saved_at: asked.append(name) or True)
    assert session2.offer_recovery(None)
    assert asked == ["clip.mp4"]
    assert doc2.segments == edited and doc2.is_modified
    assert doc2.clip_review == ClipReview.IN_PROGRESS
    assert not session2.has_recovery()
    session2.close()


def test_discard_recovery(qtbot, clip, monkeypatch):
    doc, stack, session = _open(clip)
    stack.push(AddSegmentCommand(doc, Segment(60, 70)))
    session.flush()
    assert session.autosave_path.exists()
    doc2, _stack2, session2 = _open(clip)
    monkeypatch.setattr(app.review.session, "show_recovery_dialog", lambda *a: False)
    assert not session2.offer_recovery(None)
    assert not session2.autosave_path.exists()
    assert not doc2.is_modified
    session.close()
    session2.close()


def test_save_as_annotator_tiers_and_scores(qtbot, clip, tmp_path):
    doc, stack, session = _open(clip)
    out = tmp_path / "export.eaf"
    loc = np.linspace(0, 1, N, dtype=np.float32)
    session.save_as(out, include_predicted=False, include_scores=True, loc_scores=loc)
    exported = load_eaf(out, FPS)
    assert sorted((s.onset, s.offset) for s in exported.segments) == [(10, 20), (100, 104)]
    assert (tmp_path / "export.scores.csv").is_file()
    assert session.eaf_path == clip[1]  # an export: the session keeps its file
    with pytest.raises(ValueError):
        session.save_as(out, include_scores=True)
    full = tmp_path / "full.eaf"
    session.save_as(full, include_predicted=True)
    assert session.eaf_path == clip[1]  # the full export does not take the clip's place
    assert sorted(load_eaf(full, FPS).segments, key=segment_key) == sorted(doc.segments, key=segment_key)
    with pytest.raises(ValueError, match="own file"):
        session.save_as(clip[1], include_predicted=True)
    session.close()


def test_export_then_edit_then_save_writes_the_clips_eaf(qtbot, clip, tmp_path):
    doc, stack, session = _open(clip)
    export = tmp_path / "export.eaf"
    session.save_as(export, include_predicted=True)
    exported = export.read_bytes()
    doc.insert_segment(Segment(200, 210, label="after export"))
    assert doc.is_modified
    assert session.save() == clip[1]
    assert export.read_bytes() == exported            # the export is never written again
    saved = load_eaf(clip[1], FPS)
    assert (200, 210, "after export") in [(s.onset, s.offset, s.label) for s in saved.segments]
    assert "after export" not in [s.label for s in load_eaf(export, FPS).segments]
    assert not doc.is_modified
    session.close()


def test_open_eaf_is_one_undoable_step(qtbot, clip, tmp_path):
    doc, stack, session = _open(clip)
    other = tmp_path / "other.eaf"
    save_eaf(ClipAnnotations(segments=[Segment(5, 6)], speaking=[]), other, FPS)
    original = doc.segments
    session.open_eaf(other)
    assert doc.segments == (Segment(5, 6),) and doc.speaking == ()
    # an import: the clip keeps its own file, and the imported content is an unsaved edit
    assert doc.is_modified and session.eaf_path == clip[1]
    stack.undo()
    assert doc.segments == original and not doc.is_modified
    stack.redo()
    assert session.save() == clip[1]
    assert [(s.onset, s.offset) for s in load_eaf(clip[1], FPS).segments] == [(5, 6)]
    session.close()


def test_maybe_close(qtbot, clip, monkeypatch):
    doc, stack, session = _open(clip)
    assert session.maybe_close(None)  # nothing to save: no question
    doc, stack, session = _open(clip)
    stack.push(AddSegmentCommand(doc, Segment(60, 70)))
    session.flush()
    answers = iter(["cancel", "discard"])
    monkeypatch.setattr(app.review.session, "show_save_changes_dialog", lambda parent, name: next(answers))
    assert not session.maybe_close(None)
    assert session.autosave_path.exists()
    assert session.maybe_close(None)
    assert not session.autosave_path.exists()
    assert len(load_eaf(clip[1], FPS).segments) == 4  # discarded: file unchanged


def test_maybe_close_save(qtbot, clip, monkeypatch):
    doc, stack, session = _open(clip)
    stack.push(AddSegmentCommand(doc, Segment(60, 70)))
    monkeypatch.setattr(app.review.session, "show_save_changes_dialog", lambda parent, name: "save")
    assert session.maybe_close(None)
    assert (60, 70) in [(s.onset, s.offset) for s in load_eaf(clip[1], FPS).segments]


def test_corrupt_autosave_is_kept_aside(qtbot, clip):
    video, eaf = clip
    (video.parent / "clip.mp4.meldae-autosave.json").write_text('{"format": "meldae-autosave", "seg')
    doc, stack, session = _open(clip)
    assert session.has_recovery()
    before = doc.segments
    assert not session.recover()
    assert doc.segments == before and not doc.is_modified
    assert not session.has_recovery()
    assert (video.parent / "clip.mp4.meldae-autosave.json.corrupt").is_file()
    session.close()
