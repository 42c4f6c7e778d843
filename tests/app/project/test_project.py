"""The clip list model over a project, the export worker, and the session keeping the
project informed (the Qt-free project code is tested in tests/meldae/test_project.py)."""

from __future__ import annotations

import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import Qt  # noqa: E402

from app.project.clip_list_model import ClipListModel  # noqa: E402
from meldae.annotations import ClipAnnotations, Segment, Source, load_eaf, save_eaf  # noqa: E402
from meldae.project import ClipReview, ClipState, Project  # noqa: E402

FPS = Fraction(25)


sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # project_samples (importlib mode)
from project_samples import clip_folder as _folder  # noqa: E402


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

    from app.editing.commands import AddSegmentCommand
    from app.editing.document import AnnotationDocument
    from app.review.session import ClipSession

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
