"""Project state file, clip list model, 2,000-clip folders and batch export."""

from __future__ import annotations

import json
import os
import time
from fractions import Fraction

import pytest

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import Qt  # noqa: E402

from app.document import ClipReview  # noqa: E402
from app.elan_actions import batch_export  # noqa: E402
from app.project import ClipListModel, ClipState, Project  # noqa: E402
from meldae.annotations import ClipAnnotations, Segment, Source, load_eaf, save_eaf  # noqa: E402

FPS = Fraction(25)


def _touch(path):
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def _folder(tmp_path, names, eaf=True):
    """Empty but named videos (and EAFs): a project never opens them until a clip opens."""
    for name in names:
        _touch(tmp_path / f"{name}.mp4")
        if eaf:
            _touch(tmp_path / f"{name}.eaf")
    return tmp_path


def test_state_defaults_update_and_persist(tmp_path):
    folder = _folder(tmp_path, ["b", "a"])
    project = Project(folder)
    assert project.names == ["a", "b"]
    assert project.state("a") == ClipState()
    with pytest.raises(KeyError):
        project.state("zzz")
    with pytest.raises(TypeError):
        project.update("a", colour="red")
    project.update("a", review="in_progress", last_frame=123, scores_path="/x/a.npz", segments=4)
    assert project.state("a").review is ClipReview.IN_PROGRESS
    saved = json.loads((folder / ".meldae" / "project.json").read_text())
    assert saved["clips"] == {"a": {"review": "in_progress", "last_frame": 123,
                                    "scores_path": "/x/a.npz", "segments": 4}}
    again = Project(folder)
    assert again.state("a") == ClipState(ClipReview.IN_PROGRESS, 123, "/x/a.npz", None, 4)
    assert not again.warnings


def test_corrupt_project_file_is_kept_and_warned(tmp_path):
    folder = _folder(tmp_path, ["a"])
    (folder / ".meldae").mkdir()
    (folder / ".meldae" / "project.json").write_text('{"format": "meldae-project", "clips": {')
    project = Project(folder)
    assert project.state("a") == ClipState()
    assert len(project.warnings) == 1 and "unreadable" in project.warnings[0]
    backups = list((folder / ".meldae").glob("project.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text().endswith("{")
    project.update("a", last_frame=7)
    assert Project(folder).state("a").last_frame == 7


def test_two_thousand_clips_open_quickly(tmp_path):
    names = [f"clip{i:04d}" for i in range(2000)]
    folder = _folder(tmp_path, names)
    project = Project(folder)
    project.update("clip0042", review="done", segments=3)
    start = time.perf_counter()
    project = Project(folder)
    model = ClipListModel(project)
    rows = model.rowCount()
    elapsed = time.perf_counter() - start
    assert rows == 2000 and elapsed < 1.0, f"{elapsed:.2f} s"
    row = project.row("clip0042")
    assert model.data(model.index(row, 1)) == "Done"
    assert model.data(model.index(row, 2)) == 3


def test_clip_list_model(qtbot, tmp_path):
    project = Project(_folder(tmp_path, ["a", "b"]))
    model = ClipListModel(project)
    assert (model.rowCount(), model.columnCount()) == (2, 3)
    assert [model.headerData(c, Qt.Horizontal) for c in range(3)] == ["Clip", "Review", "Segments"]
    assert [model.data(model.index(1, c)) for c in range(3)] == ["b", "Unreviewed", ""]
    assert model.data(model.index(1, 2), Qt.UserRole) == "b"
    with qtbot.waitSignal(model.dataChanged) as blocker:
        project.update("b", review=ClipReview.DONE, segments=2)
    assert blocker.args[0].row() == 1
    assert [model.data(model.index(1, c)) for c in range(3)] == ["b", "Done", 2]
    assert model.clip_at(0).name == "a"


def test_batch_export_reports_bad_clip_and_exports_the_rest(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b", "c", "d"):
        (folder / f"{name}.mp4").write_bytes(b"")
    ann = ClipAnnotations(segments=[Segment(10, 20), Segment(30, 33, source=Source.PREDICTED, score=0.7)],
                          speaking=[Segment(0, 50)])
    save_eaf(ann, folder / "a.eaf", FPS)
    (folder / "b.eaf").write_text("this is not XML")
    save_eaf(ClipAnnotations(segments=[Segment(1, 2)]), folder / "c.eaf", FPS)
    project = Project(folder)
    for name in ("a", "b", "c", "d"):
        project.update(name, fps="25/1")
    seen = []
    out = tmp_path / "out"
    report = batch_export(project, out, include_predicted=False,
                          progress=lambda done, total, name: seen.append((done, total, name)))
    assert [(r.name, r.status) for r in report.results] == [
        ("a", "ok"), ("b", "failed"), ("c", "ok"), ("d", "skipped")]
    assert "b.eaf" in report.failed[0].reason
    assert seen == [(1, 4, "a"), (2, 4, "b"), (3, 4, "c"), (4, 4, "d")]
    exported = load_eaf(out / "a.eaf", FPS)
    assert [(s.onset, s.offset) for s in exported.segments] == [(10, 20)]
    assert [(s.onset, s.offset) for s in exported.speaking] == [(0, 50)]
    assert not (out / "b.eaf").exists()
    with_pred = batch_export(project, tmp_path / "out2", include_predicted=True)
    assert len(load_eaf(tmp_path / "out2" / "a.eaf", FPS).segments) == 2
    assert "1 failed" in with_pred.summary()


def test_batch_export_stops_when_asked_between_clips(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.mp4").write_bytes(b"")
        save_eaf(ClipAnnotations(segments=[Segment(1, 2)]), folder / f"{name}.eaf", FPS)
    project = Project(folder)
    for name in ("a", "b", "c"):
        project.update(name, fps="25/1")
    done = []
    report = batch_export(project, tmp_path / "out", include_predicted=False,
                          progress=lambda d, total, name: done.append(name),
                          should_stop=lambda: len(done) >= 2)
    assert report.cancelled and [r.name for r in report.results] == ["a", "b"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.eaf")) == ["a.eaf", "b.eaf"]
    assert "cancelled" in report.summary()


def test_project_export_runs_in_a_worker_and_reports(qtbot, window, clip_dir, tmp_path):
    import shutil

    folder = tmp_path / "project"
    shutil.copytree(clip_dir, folder)
    with qtbot.waitSignal(window.clip_opened, timeout=120_000):
        window.open_path(folder)
    files = window.review.files
    statuses: list[str] = []
    window.show_status = lambda text, timeout_ms=0: statuses.append(text)
    with qtbot.waitSignal(files.export_finished, timeout=60_000) as finished:
        worker = files.batch_export(tmp_path / "exported", include_predicted=False)
        assert worker is not None
        assert not files.batch.isEnabled()                  # one export at a time
        assert "an export is running" in files.batch.toolTip()
    report = finished.args[0]
    assert [r.status for r in report.results] == ["ok", "ok"] and not report.cancelled
    assert len(list((tmp_path / "exported").glob("*.eaf"))) == 2
    assert statuses[-1].startswith("Exported 2 clip(s)")
    assert files.batch.isEnabled() and not files.cancel_batch.isEnabled()


def test_session_keeps_project_informed(qtbot, tmp_path):
    from PySide6.QtGui import QUndoStack

    from app.commands import AddSegmentCommand
    from app.document import AnnotationDocument
    from app.session import ClipSession

    folder = _folder(tmp_path, ["a"], eaf=False)
    project = Project(folder)
    project.update("a", review="in_progress")
    doc = AnnotationDocument(ClipAnnotations(segments=[Segment(1, 2)]), 100)
    stack = QUndoStack()
    session = ClipSession(folder / "a.mp4", None, FPS, 100, doc, undo_stack=stack,
                          autosave_path=project.autosave_path("a"), project=project, clip_name="a")
    assert doc.clip_review == ClipReview.IN_PROGRESS  # the project remembers what the EAF cannot
    assert project.state("a").segments == 1
    stack.push(AddSegmentCommand(doc, Segment(5, 9)))
    stack.push(AddSegmentCommand(doc, Segment(20, 22, source=Source.PREDICTED, score=0.5)))
    session.flush()
    assert (folder / ".meldae" / "autosave" / "a.mp4.meldae-autosave.json").is_file()
    assert session.save() == folder / "a.eaf"
    state = Project(folder).state("a")
    assert state.segments == 2 and state.modified_at is not None
    assert not (folder / ".meldae" / "autosave" / "a.mp4.meldae-autosave.json").exists()
    doc.set_clip_review(ClipReview.DONE)
    assert Project(folder).state("a").review is ClipReview.DONE
    session.close()
